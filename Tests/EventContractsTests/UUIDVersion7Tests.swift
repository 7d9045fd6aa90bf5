import EventContracts
import Foundation
import Testing

@Suite struct UUIDVersion7Tests {
    @Test func carriesItsMillisecondAndTheVersionAndVariantBits() {
        let at = Date(timeIntervalSince1970: 1_795_000_000.123)
        let id = UUID.version7(at: at)
        let text = id.uuidString.lowercased()
        // xxxxxxxx-xxxx-7xxx-[89ab]xxx-xxxxxxxxxxxx
        #expect(Array(text)[14] == "7")
        #expect("89ab".contains(Array(text)[19]))
        #expect(id.version7Date == Date(timeIntervalSince1970: 1_795_000_000.123))
        // The first 48 bits are the milliseconds, big-endian.
        #expect(text.replacingOccurrences(of: "-", with: "").prefix(12) == String(1_795_000_000_123, radix: 16).leftPadded(to: 12))
    }

    @Test func sortsByTheTimeItWasMadeAndIsRandomWithinAMillisecond() {
        let earlier = UUID.version7(at: Date(timeIntervalSince1970: 1_795_000_000))
        let later = UUID.version7(at: Date(timeIntervalSince1970: 1_795_000_000.001))
        #expect(earlier.uuidString < later.uuidString)
        let sameMillisecond = (0..<100).map { _ in UUID.version7(at: Date(timeIntervalSince1970: 1_795_000_000)) }
        #expect(Set(sameMillisecond).count == 100)
    }

    @Test func otherVersionsAndOutOfRangeTimesDoNotTrap() {
        #expect(UUID().version7Date == nil)
        #expect(UUID(uuidString: "00000000-0000-0000-0000-000000000000")!.version7Date == nil)
        // Version 7 in the version nibble but not the RFC variant: not ours.
        #expect(UUID(uuidString: "01890000-0000-7000-0000-000000000000")!.version7Date == nil)
        #expect(UUID.version7(at: Date(timeIntervalSince1970: -5)).version7Date == Date(timeIntervalSince1970: 0))
        // 48 bits of milliseconds last until the year 10889; later times are held at the end.
        let last = Date(timeIntervalSince1970: Double((1 << 48) - 1) / 1000)
        #expect(UUID.version7(at: Date(timeIntervalSince1970: 1e12)).version7Date == last)
        #expect(UUID.version7(at: Date(timeIntervalSince1970: .infinity)).version7Date == last)
        #expect(UUID.version7(at: Date(timeIntervalSince1970: .nan)).version7Date == Date(timeIntervalSince1970: 0))
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}
