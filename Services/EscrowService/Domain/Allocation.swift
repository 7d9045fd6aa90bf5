/// Splits an amount into parts proportional to weights, with the largest-remainder method, so
/// the parts always add up to the whole, to the cent.
enum Allocation {
    /// Parts of `total` proportional to `weights` (non-negative, not all zero). Leftover units
    /// go to the largest fractional remainders; ties go to the earlier weight.
    static func largestRemainder(_ total: Int64, weights: [Int64]) -> [Int64] {
        precondition(total >= 0 && !weights.isEmpty && weights.allSatisfy { $0 >= 0 })
        let sum = weights.reduce(0, +)
        guard sum > 0 else { return weights.map { _ in 0 } }
        // Exact quotient and remainder per part, in 128-bit arithmetic so large amounts cannot overflow.
        var parts: [Int64] = []
        var remainders: [(remainder: UInt64, index: Int)] = []
        for (index, weight) in weights.enumerated() {
            let product = total.multipliedFullWidth(by: weight)
            let (quotient, remainder) = sum.dividingFullWidth(product)
            parts.append(quotient)
            remainders.append((UInt64(remainder), index))
        }
        var leftover = total - parts.reduce(0, +)
        for entry in remainders.sorted(by: { $0.remainder != $1.remainder ? $0.remainder > $1.remainder : $0.index < $1.index }) {
            guard leftover > 0 else { break }
            parts[entry.index] += 1
            leftover -= 1
        }
        return parts
    }
}

/// The platform's fee on an escrow: basis points of the gross (rounded half up) plus a fixed
/// amount, never more than the gross.
struct FeePolicy: Sendable, Equatable {
    var basisPoints: Int64
    var fixedAmount: Int64

    func fee(on gross: Int64) -> Int64 {
        let proportional = (gross.multipliedReportingOverflow(by: basisPoints).partialValue + 5_000) / 10_000
        return min(gross, max(0, proportional + fixedAmount))
    }

    func net(of gross: Int64) -> Int64 { gross - fee(on: gross) }
}
