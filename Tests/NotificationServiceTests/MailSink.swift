import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport

/// One message as the aiosmtpd sink (scripts/lib/smtp_sink.py) received and parsed it.
struct ReceivedMail: Decodable, Sendable {
    struct Part: Decodable, Sendable {
        var contentType: String
        var charset: String?
        var transferEncoding: String?
        var content: String
    }

    var mailFrom: String
    var rcptTos: [String]
    var subject: String
    var messageId: String
    var contentType: String
    var headers: [String: String]
    var parts: [Part]
    /// Whether it came over a connection upgraded with STARTTLS, and the user that logged in.
    var tls: Bool
    var authenticatedAs: String?
    /// The client's address and port: which connection brought it.
    var peer: String?
    /// The client sent RCPT (and DATA) before the server answered MAIL (RFC 2920 pipelining).
    var pipelined: Bool?

    var kind: String? { headers["X-Notification-Kind"] }

    func part(_ contentType: String) -> Part? {
        parts.first { $0.contentType == contentType }
    }
}

/// Reads the messages a sink wrote to its maildir.
struct MailSink: Sendable {
    let host: String
    let port: Int
    let maildir: URL

    /// The sink `scripts/dev test` runs for the whole test run.
    static var shared: MailSink {
        let environment = ProcessInfo.processInfo.environment
        guard let port = environment["TEST_SMTP_PORT"].flatMap(Int.init), let maildir = environment["TEST_SMTP_MAILDIR"] else {
            fatalError("TEST_SMTP_PORT and TEST_SMTP_MAILDIR are not set: run the tests with scripts/dev test")
        }
        return MailSink(host: environment["TEST_SMTP_HOST"] ?? "127.0.0.1", port: port, maildir: URL(fileURLWithPath: maildir))
    }

    /// Every message to `recipient` received so far.
    func messages(to recipient: String) throws -> [ReceivedMail] {
        let names = try FileManager.default.contentsOfDirectory(atPath: maildir.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.compactMap { name in
            let mail = try JSONDecoder().decode(ReceivedMail.self, from: Data(contentsOf: maildir.appendingPathComponent(name)))
            return mail.rcptTos.contains(recipient) ? mail : nil
        }
    }

    /// Settings that point NotificationService at this sink.
    var environment: [String: String] {
        ["SMTP_HOST": host, "SMTP_PORT": String(port)]
    }
}

/// A sink of the test's own, which it can stop and start again on the same port (an outage),
/// or which demands STARTTLS and AUTH (`--starttls`, `--auth USER:PASSWORD`).
final class OwnMailSink: Sendable {
    let sink: MailSink
    private let arguments: [String]
    private let process = LockedProcess()

    init(arguments: [String] = []) throws {
        self.arguments = arguments
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("mail"), withIntermediateDirectories: true)
        let portFile = directory.appendingPathComponent("port")
        let first = try Self.launch(port: 0, maildir: directory.appendingPathComponent("mail"), portFile: portFile, arguments: arguments)
        let port = try Self.waitForPort(portFile)
        sink = MailSink(host: "127.0.0.1", port: port, maildir: directory.appendingPathComponent("mail"))
        process.set(first)
    }

    /// Stops the server and waits until its port refuses connections.
    func stop() {
        guard let running = process.take() else { return }
        // SIGKILL: an abrupt outage, and no dependence on the signal mask the test process passes on.
        kill(running.processIdentifier, SIGKILL)
        for _ in 0..<200 where Self.accepts(port: sink.port) {
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    func start() throws {
        let portFile = sink.maildir.deletingLastPathComponent().appendingPathComponent("port-again")
        try? FileManager.default.removeItem(at: portFile)
        process.set(try Self.launch(port: sink.port, maildir: sink.maildir, portFile: portFile, arguments: arguments))
        _ = try Self.waitForPort(portFile)
    }

    deinit { stop() }

    /// Whether something accepts TCP connections on 127.0.0.1:port (no `waitUntilExit`, which
    /// can block forever off the main thread).
    static func accepts(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private static func launch(port: Int, maildir: URL, portFile: URL, arguments: [String]) throws -> Process {
        let environment = ProcessInfo.processInfo.environment
        guard let python = environment["TEST_PYTHON"], let script = environment["TEST_SMTP_SINK_SCRIPT"] else {
            throw HarnessError("TEST_PYTHON and TEST_SMTP_SINK_SCRIPT are not set: run the tests with scripts/dev test")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, "--port", String(port), "--maildir", maildir.path, "--port-file", portFile.path] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    private static func waitForPort(_ file: URL) throws -> Int {
        for _ in 0..<200 {
            if let text = try? String(contentsOf: file, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return port
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw HarnessError("the SMTP sink did not start")
    }
}

/// The sink's process behind a lock (Process itself is not Sendable).
private final class LockedProcess: @unchecked Sendable {
    private let lock = NSLock()
    private var process: Process?

    func set(_ process: Process) { lock.withLock { self.process = process } }
    func take() -> Process? { lock.withLock { defer { process = nil }; return process } }
}

