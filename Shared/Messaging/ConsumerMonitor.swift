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

    private let factory: any MetricsFactory
    private let consumer = Mutex<KafkaConsumer?>(nil)

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// Lag per assigned partition; empty while no consumer runs or nothing is assigned yet.
    public func lag() async -> [PartitionLag] {
        guard let consumer = consumer.withLock({ $0 }) else { return [] }
        return await consumer.lag()
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
