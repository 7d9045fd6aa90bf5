/// An amount in minor units (cents; for zero-decimal currencies such as jpy, the unit itself)
/// of one lowercase ISO 4217 currency. Never a floating-point value.
public struct Money: Codable, Sendable, Hashable {
    public var amount: Int64
    public var currency: String

    public init(amount: Int64, currency: String) {
        self.amount = amount
        self.currency = currency
    }

    /// Currencies whose minor unit is the unit itself (Stripe's zero-decimal list).
    public static let zeroDecimalCurrencies: Set<String> = [
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
    ]

    /// Three lowercase letters, as Stripe expects.
    public static func isValidCurrency(_ code: String) -> Bool {
        code.count == 3 && code.unicodeScalars.allSatisfy { ("a"..."z").contains($0) }
    }

    /// Multiplies without silently overflowing; nil if the result does not fit.
    public static func multiply(_ amount: Int64, by quantity: Int) -> Int64? {
        let (result, overflow) = amount.multipliedReportingOverflow(by: Int64(quantity))
        return overflow ? nil : result
    }

    /// Sums without silently overflowing; nil if the result does not fit.
    public static func sum(_ amounts: [Int64]) -> Int64? {
        var total: Int64 = 0
        for amount in amounts {
            let (result, overflow) = total.addingReportingOverflow(amount)
            if overflow { return nil }
            total = result
        }
        return total
    }
}
