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
