/// Splits an amount into parts proportional to weights, with the largest-remainder method, so
/// the parts always add up to the whole, to the cent.
public enum Allocation {
    /// Parts of `total` proportional to `weights` (non-negative, not all zero). Leftover units
    /// go to the largest fractional remainders; ties go to the earlier weight.
    public static func largestRemainder(_ total: Int64, weights: [Int64]) -> [Int64] {
        // Amounts come from events and requests: anything out of range gets nothing, never a trap.
        guard total >= 0, weights.allSatisfy({ $0 >= 0 }) else { return weights.map { _ in 0 } }
        let (sum, overflow) = weights.reduce((Int64(0), false)) { partial, weight in
            let (next, over) = partial.0.addingReportingOverflow(weight)
            return (next, partial.1 || over)
        }
        guard sum > 0, !overflow else { return weights.map { _ in 0 } }
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
