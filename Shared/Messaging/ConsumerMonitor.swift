import EventContracts
import Metrics
import Synchronization

/// What an operator needs to see of a service's event consumer: events finished and events
/// dead-lettered (counters, per topic), and the lag of each assigned partition, read from
/// librdkafka at scrape time.
public final class ConsumerMonitor: Sendable {
    /// How far one assigned partition is behind its high watermark.
    public struct PartitionLag: Sendable, Equatable {
        public var topic: String
        public var partition: Int32
        public var lag: Int64
    }

    /// A partition held back by a failing message.
    public struct HeldPartition: Sendable, Equatable {
        public var topic: String
        public var partition: Int32
        public var kind: String
        public var attempts: Int
        /// Since the message first failed.
        public var heldSeconds: Double
    }

    private let factory: any MetricsFactory
    private let consumer = Mutex<KafkaConsumer?>(nil)
    private let heldPartitions = Mutex<[TopicPartition: PartitionQueues.Failure]>([:])

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// What the group has assigned to this instance: how many partitions, and the lag of each.
    public struct Assignment: Sendable, Equatable {
        public var partitions: Int
        public var lags: [PartitionLag]
    }

    /// The consumer's assignment; nil while no consumer runs.
    public func assignment() async -> Assignment? {
        guard let consumer = consumer.withLock({ $0 }) else { return nil }
        return await consumer.assignment()
    }

    /// Partitions waiting on a failed message, with how long and how often it failed.
    public func held() -> [HeldPartition] {
        let now = ContinuousClock.now
        return heldPartitions.withLock { $0 }.sorted { $0.key.description < $1.key.description }.map { key, failure in
            let age = now - failure.firstFailedAt
            return HeldPartition(
                topic: key.topic, partition: key.partition, kind: failure.kind.rawValue, attempts: failure.attempts,
                heldSeconds: age.inSeconds)
        }
    }

    func held(_ failures: [TopicPartition: PartitionQueues.Failure]) {
        heldPartitions.withLock { $0 = failures }
    }

    /// Creates the per-topic counters at zero, so that they are scraped before their first event
    /// (a rule like `increase(events_dead_lettered_total[10m]) > 0` cannot see a series' first
    /// sample as an increase).
    public func register(topics: [String]) {
        for topic in topics {
            _ = Counter(label: "events_consumed_total", dimensions: [("topic", topic)], factory: factory)
            _ = Counter(label: "events_dead_lettered_total", dimensions: [("topic", topic)], factory: factory)
        }
    }

    /// A failed attempt that will be retried.
    func retried(topic: String, kind: FailureKind) {
        Counter(label: "events_retried_total", dimensions: [("topic", topic), ("failure", kind.rawValue)], factory: factory).increment()
    }

    func attach(_ consumer: KafkaConsumer?) {
        self.consumer.withLock { $0 = consumer }
    }

    /// A message finished: applied, skipped (a type this service does not handle) or dead-lettered.
    func finished(topic: String) {
        Counter(label: "events_consumed_total", dimensions: [("topic", topic)], factory: factory).increment()
    }

    func deadLettered(topic: String) {
        Counter(label: "events_dead_lettered_total", dimensions: [("topic", topic)], factory: factory).increment()
    }
}
