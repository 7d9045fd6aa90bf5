import NIOCore

/// A topic partition, the unit of order for a consumer.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)/\(partition)" }

    /// The one order in which a consumer takes its partitions (by topic, then partition number).
    static func < (left: TopicPartition, right: TopicPartition) -> Bool {
        (left.topic, left.partition) < (right.topic, right.partition)
    }
}

/// Why a message could not be finished yet.
public enum FailureKind: String, Sendable {
    /// The database, broker or a peer was away or busy; retried without limit.
    case transient
    /// An error of no known class (a bug, a constraint): retried without limit, logged as an error,
    /// since parking it could lose money and the partition's order.
    case unclassified
    /// The event is newer than this build understands: the partition waits for an upgrade.
    case unsupportedVersion = "unsupported_version"
    /// Undecodable or explicitly rejected: dead-lettered after a few attempts.
    case poison
}

/// The consumer's messages in hand, one FIFO per partition, and the failure holding each
/// partition back. Pure state: the loop in `EventConsumer` does the I/O. A failed message
/// stays at the head of its partition, so nothing behind it is applied or marked before it.
/// Partitions are changed in place (through the dictionary's subscript), never copied out and
/// back: a copy of a partition would copy its whole queue on every message added or finished.
struct PartitionQueues {
    struct Failure: Equatable {
        var offset: Int64
        var attempts: Int
        var kind: FailureKind
        var error: String
        var firstFailedAt: ContinuousClock.Instant
        var retryAt: ContinuousClock.Instant
    }

    struct Partition {
        var messages = CircularBuffer<ConsumedMessage>()
        /// The highest offset ever enqueued: a rebalance may hand the same messages out again.
        var lastOffset: Int64 = -1
        var failure: Failure?
        var paused = false

        /// Adds a message behind the others unless it is not past the highest offset seen.
        mutating func append(_ message: ConsumedMessage) -> Bool {
            guard message.offset > lastOffset else { return false }
            messages.append(message)
            lastOffset = message.offset
            return true
        }

        /// Removes the head if it is `offset`, and the failure that held it.
        mutating func finish(_ offset: Int64) {
            guard messages.first?.offset == offset else { return }
            messages.removeFirst()
            if failure?.offset == offset { failure = nil }
        }
    }

    private(set) var partitions: [TopicPartition: Partition] = [:]

    /// Adds a polled message behind its partition's others; false for one already in hand or done.
    @discardableResult
    mutating func enqueue(_ message: ConsumedMessage) -> Bool {
        partitions[message.topicPartition, default: Partition()].append(message)
    }

    /// Messages that may be applied now, in order within each partition: every partition's
    /// queue unless its head failed and is not due again yet. At most `limit`.
    func ready(at now: ContinuousClock.Instant, limit: Int) -> [ConsumedMessage] {
        var result: [ConsumedMessage] = []
        for (_, partition) in partitions.sorted(by: { $0.key < $1.key }) {
            if let failure = partition.failure, failure.retryAt > now { continue }
            for message in partition.messages {
                guard result.count < limit else { return result }
                result.append(message)
            }
        }
        return result
    }

    /// The head of its partition is finished (applied, skipped or dead-lettered).
    mutating func finished(_ message: ConsumedMessage) {
        partitions[message.topicPartition]?.finish(message.offset)
    }

    /// Attempts made so far at the message (0 before its first failure).
    func attempts(for message: ConsumedMessage) -> Int {
        guard let failure = partitions[message.topicPartition]?.failure,
              failure.offset == message.offset
        else { return 0 }
        return failure.attempts
    }

    /// Records a failed attempt at the head of a partition and when to try it again.
    @discardableResult
    mutating func failed(
        _ message: ConsumedMessage, kind: FailureKind, error: String, at now: ContinuousClock.Instant, retryIn delay: Duration
    ) -> Failure {
        let key = message.topicPartition
        var failure =
            partitions[key]?.failure.flatMap { $0.offset == message.offset ? $0 : nil }
            ?? Failure(offset: message.offset, attempts: 0, kind: kind, error: error, firstFailedAt: now, retryAt: now)
        failure.attempts += 1
        failure.kind = kind
        failure.error = error
        failure.retryAt = now + delay
        partitions[key, default: Partition()].failure = failure
        return failure
    }

    /// The earliest moment a held partition is due again.
    var nextRetry: ContinuousClock.Instant? {
        partitions.values.compactMap { $0.failure?.retryAt }.min()
    }

    /// Partitions to pause (held back, so the client stops fetching what would pile up behind
    /// the failure) and to resume (the failure is over).
    var pauseChanges: (pause: [TopicPartition], resume: [TopicPartition]) {
        var pause: [TopicPartition] = []
        var resume: [TopicPartition] = []
        for (key, partition) in partitions {
            if partition.failure != nil, !partition.paused { pause.append(key) }
            if partition.failure == nil, partition.paused { resume.append(key) }
        }
        return (pause, resume)
    }

    mutating func setPaused(_ key: TopicPartition, _ paused: Bool) {
        partitions[key]?.paused = paused
    }

    /// The partitions held back by a failure, for metrics and logs.
    var failures: [TopicPartition: Failure] {
        partitions.compactMapValues(\.failure)
    }
}
