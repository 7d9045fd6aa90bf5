import Foundation

extension UUID {
    /// A version-7 UUID (RFC 9562, section 5.7): the Unix time in milliseconds in the first 48
    /// bits, then 74 random bits. Ids made this way sort by when they were made, so rows keyed by
    /// them are appended at the right edge of their index, and their maker's time can be read
    /// back (`version7Date`): PaymentService tells a checkout whose event is still on its way from
    /// an id that names nothing.
    public static func version7(at date: Date = Date()) -> UUID {
        let unbounded = date.timeIntervalSince1970 * 1000
        let milliseconds = unbounded.isNaN ? 0 : UInt64(max(0, min(unbounded, Double((1 << 48) - 1))))
        var random = SystemRandomNumberGenerator()
        let high: UInt64 = random.next()
        let low: UInt64 = random.next()
        func byte(_ value: UInt64, _ shift: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: value >> shift) }
        return UUID(uuid: (
            byte(milliseconds, 40), byte(milliseconds, 32), byte(milliseconds, 24), byte(milliseconds, 16),
            byte(milliseconds, 8), byte(milliseconds, 0),
            0x70 | (byte(high, 0) & 0x0F), byte(high, 8),
            0x80 | (byte(low, 0) & 0x3F), byte(low, 8), byte(low, 16), byte(low, 24), byte(low, 32), byte(low, 40),
            byte(low, 48), byte(low, 56)))
    }

    /// When a version-7 UUID was made (to the millisecond); nil for any other version.
    public var version7Date: Date? {
        let bytes = uuid
        guard bytes.6 >> 4 == 7, bytes.8 >> 6 == 0b10 else { return nil }
        let milliseconds = [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
