/// When a consumer that holds no partitions should rejoin its group. After the broker froze
/// (chaos: SIGSTOP for 10 s), both members of a group timed out, rejoined and stayed with no
/// partitions, librdkafka reporting nothing: NotificationService's once, until it was stopped a
/// minute later; EscrowService's another time, both members in generation 2 with empty
/// assignments, where unsubscribing and subscribing again changed nothing in 26 s. A member with
/// nothing assigned for `patience` is replaced by a new consumer (`EventConsumer`), which joins
/// with a new handle and metadata of its own. A member of a group with more members than
/// partitions has nothing to do for good, so each fruitless rejoin doubles the patience, up to
/// `longestPatience`, and costs its group one rebalance that often.
struct GroupWatch: Sendable {
    let patience: Duration
    let longestPatience: Duration
    private var current: Duration
    private var unassignedSince: ContinuousClock.Instant?

    init(patience: Duration, longestPatience: Duration) {
        self.patience = patience
        self.longestPatience = max(patience, longestPatience)
        current = patience
    }

    /// How long the consumer has to hold no partitions before it rejoins next.
    var waitBeforeRejoin: Duration { current }

    /// Notes how many partitions the consumer holds at `now`; true when it should rejoin now.
    mutating func observe(assigned: Int, at now: ContinuousClock.Instant) -> Bool {
        guard assigned == 0 else {
            unassignedSince = nil
            current = patience
            return false
        }
        guard let since = unassignedSince else {
            unassignedSince = now
            return false
        }
        guard now - since >= current else { return false }
        unassignedSince = now
        current = min(current * 2, longestPatience)
        return true
    }
}
