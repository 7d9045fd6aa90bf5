extension Duration {
    /// The duration in seconds, fractions included (a 500-ms lease is 0.5, not 0).
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The duration in whole milliseconds, rounded toward zero; held at `Int64`'s ends rather
    /// than trapping for a duration too long to count in milliseconds.
    public var inMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (milliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (total, overflowAgain) = milliseconds.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        guard !overflowAgain else { return milliseconds < 0 ? .min : .max }
        return total
    }
}
