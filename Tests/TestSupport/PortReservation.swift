import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Every port handed out in this test process: a port is released before its server binds it,
/// and until then another test's reservation could pick it again (a JourneyTests service once
/// failed with EADDRINUSE). Each is handed out once per process; there are 22,000 to pick from.
private let handedOut = Mutex<Set<Int>>([])

extension TestEnvironment {
    /// `count` distinct loopback ports that nothing listens on, for servers a test starts as
    /// processes of their own. They are picked below the kernel's ephemeral range, so neither an
    /// outgoing connection (of the many the other tests open) nor a server bound to port 0 can
    /// take one before the process binds it; and each stays bound until all are picked and is
    /// never handed out again by this process, so two reservations never share a port.
    public static func reservePorts(_ count: Int) throws -> [Int] {
        let ephemeralStart = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))
            .flatMap { $0.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } } ?? 32768
        let range = 10_000..<max(10_001, ephemeralStart)
        var held: [(port: Int, descriptor: Int32)] = []
        defer { for entry in held { close(entry.descriptor) } }
        for _ in 0..<1_000 where held.count < count {
            let port = Int.random(in: range)
            guard handedOut.withLock({ $0.insert(port).inserted }) else { continue }
            guard let descriptor = bindLoopback(port: port) else { continue }
            held.append((port, descriptor))
        }
        guard held.count == count else { throw HarnessError("no \(count) free ports below \(range.upperBound)") }
        return held.map(\.port)
    }

    /// A socket bound to 127.0.0.1:port, or nil when the port is taken.
    private static func bindLoopback(port: Int) -> Int32? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard bound else {
            close(descriptor)
            return nil
        }
        return descriptor
    }
}
