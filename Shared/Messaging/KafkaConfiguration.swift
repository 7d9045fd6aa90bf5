/// Connection settings for the broker plus any extra librdkafka properties.
public struct KafkaConfiguration: Sendable {
    /// Comma-separated `host:port` list.
    public var brokers: String
    public var clientId: String
    /// Extra librdkafka properties for producers and consumers; they override our defaults.
    public var properties: [String: String]
    /// Extra librdkafka properties for consumers only.
    public var consumerProperties: [String: String]

    public init(
        brokers: String, clientId: String, properties: [String: String] = [:], consumerProperties: [String: String] = [:]
    ) {
        self.brokers = brokers
        self.clientId = clientId
        self.properties = properties
        self.consumerProperties = consumerProperties
    }

    /// Short group timeouts so consumer groups join in seconds rather than ~24 s; for tests only.
    public static let fastGroupProperties: [String: String] = [
        "session.timeout.ms": "6000",
        "heartbeat.interval.ms": "500",
        "max.poll.interval.ms": "7000",
    ]

    /// For the local broker (Tansu): it answers a fetch only when the fetch's wait runs out, even
    /// if data arrived sooner, so a long wait is pure latency. Apache Kafka answers as soon as
    /// data arrives, so deployments keep librdkafka's default (no idle fetch storm).
    public static let localBrokerProperties: [String: String] = ["fetch.wait.max.ms": "5"]

    /// Tests and benchmarks on the local broker.
    public static let testConsumerProperties = fastGroupProperties.merging(localBrokerProperties) { _, new in new }
}
