import Synchronization
import Foundation
import Logging
import Messaging
import Persistence
import PostgresNIO

/// The throwaway servers `scripts/dev test` starts, described by environment variables.
public enum TestEnvironment {
    public static var databaseURL: String { require("TEST_DATABASE_URL") }
    public static var brokers: String { require("TEST_KAFKA_BROKERS") }
    /// The directory of the test Postgres's Unix-domain socket.
    public static var databaseSocketDirectory: String { require("TEST_DATABASE_SOCKET_DIR") }
    /// The broker binary, for tests that run a broker of their own.
    public static var tansuBinary: String { require("TANSU_BIN") }
    /// The fake Stripe server (localstripe).
    public static var localstripeURL: String { require("TEST_LOCALSTRIPE_URL") }
    /// Where the package's executables were built.
    public static var binDirectory: String { require("TEST_BIN_DIR") }

    /// Made once: reading the environment copies all of it, and EventBench's writers asked for
    /// this logger per event (a sixth of its CPU).
    public static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
        return logger
    }()

    private static func require(_ name: String) -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            fatalError("\(name) is not set: run the tests with scripts/dev test")
        }
        return value
    }

    /// A fresh lowercase name for a schema or topic, unique per test.
    public static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Kafka settings for the test broker, with fast consumer-group timeouts.
    public static func kafka(clientId: String = "tests", brokers: String? = nil) -> KafkaConfiguration {
        KafkaConfiguration(
            brokers: brokers ?? self.brokers, clientId: clientId, consumerProperties: KafkaConfiguration.testConsumerProperties)
    }

    /// Creates uniquely named topics (3 partitions) and their dead-letter siblings.
    public static func makeTopics(_ bases: [String], partitions: Int32 = 3, brokers: String? = nil) async throws -> [String] {
        let prefix = uniqueName("t")
        let names = bases.map { "\(prefix).\($0)" }
        try await KafkaAdmin.createTopics(
            names + names.map { "\($0).dlq" }, partitions: partitions, configuration: kafka(brokers: brokers))
        return names
    }
}

/// A counter or flag that tasks and handlers share in a test.
public final class SharedCounter: Sendable {
    private let value: Mutex<Int>

    public init(_ initial: Int = 0) {
        value = Mutex(initial)
    }

    public func add(_ amount: Int = 1) {
        value.withLock { $0 += amount }
    }

    public func set(_ newValue: Int) {
        value.withLock { $0 = newValue }
    }

    public var current: Int { value.withLock { $0 } }
}
