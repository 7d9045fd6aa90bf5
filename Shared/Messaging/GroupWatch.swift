/// When a consumer that holds no partitions should rejoin its group. After the broker froze
/// (chaos: SIGSTOP for 10 s), both members of a group timed out, rejoined and stayed with no
/// partitions, librdkafka reporting nothing: NotificationService's once, until it was stopped a
/// minute later; EscrowService's another time, both members in generation 2 with empty
/// assignments, where unsubscribing and subscribing again changed nothing in 26 s. A member with
/// nothing assigned for `patience` is replaced by a new consumer (`EventConsumer`), which joins
/// with a new handle and metadata of its own. A member of a group with more members than
/// partitions has nothing to do for good, so each fruitless rejoin doubles the patience, up to
/// `longestPatience`, and costs its group one rebalance that often. A member still joining is not
/// stuck: the wait starts over whenever its member id or generation changes (Tansu takes 5 s to
/// answer a join and 3-8 s a sync, and a restarted member can take 30 s of rounds to settle).
struct GroupWatch: Sendable {
    let patience: Duration
    let longestPatience: Duration
    private var current: Duration
    private var unassignedSince: ContinuousClock.Instant?
    /// The member id and generation last seen: a change is the group protocol moving on (a join
    /// answered, a new generation), which a member still joining shows and a stuck one does not.
    private var seen: (memberId: String, generation: Int32)?

    init(patience: Duration, longestPatience: Duration) {
        self.patience = patience
        self.longestPatience = max(patience, longestPatience)
        current = patience
    }

    /// How long the consumer has to hold no partitions, with its group standing still, before it
    /// rejoins next.
    var waitBeforeRejoin: Duration { current }

    /// Notes where the consumer stands at `now`; true when it should rejoin now.
    mutating func observe(_ membership: KafkaConsumer.Membership, at now: ContinuousClock.Instant) -> Bool {
        let moved = seen.map { $0.memberId != membership.memberId || $0.generation != membership.generation } ?? true
        seen = (membership.memberId, membership.generation)
        guard membership.assigned == 0 else {
            unassignedSince = nil
            current = patience
            return false
        }
        guard let since = unassignedSince, !moved else {
            unassignedSince = now
            return false
        }
        guard now - since >= current else { return false }
        unassignedSince = now
        current = min(current * 2, longestPatience)
        return true
    }
}
