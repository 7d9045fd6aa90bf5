import EventContracts
import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle

/// Publishes a schema's outbox rows to Kafka, in id order, marking them only after the broker
/// acknowledged them. One relay per schema is active at a time (a session advisory lock), it
/// wakes on NOTIFY from committing writers and polls slowly as a fallback. The producer is
/// shared and outlives the relay (list it before the relay in the service group).
public struct OutboxRelay: Service {
    public struct Settings: Sendable {
        public var batchSize = 500
        /// Fallback scan interval when no notification arrives.
        public var pollInterval: Duration = .seconds(1)
        /// How often a standby instance tries to become the active relay.
        public var standbyInterval: Duration = .seconds(2)
        public var maximumBackoff: Duration = .seconds(5)
        public init() {}
    }

    /// Test seam: runs after the broker acknowledged a batch and before the rows are marked.
    public typealias AfterDelivery = @Sendable (_ outboxIds: [Int64]) async throws -> Void

    let client: PostgresClient
    let schema: String
    let producer: KafkaProducer
    let settings: Settings
    let logger: Logger
    let afterDelivery: AfterDelivery?

    public init(
        client: PostgresClient, schema: String, producer: KafkaProducer, settings: Settings = .init(),
        logger: Logger, afterDelivery: AfterDelivery? = nil
    ) {
        self.client = client
        self.schema = schema
        self.producer = producer
        self.settings = settings
        self.logger = logger
        self.afterDelivery = afterDelivery
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    do {
                        let wasLeader = try await leadIfPossible(producer: producer)
                        if !wasLeader { try await Task.sleep(for: settings.standbyInterval) }
                    } catch let error as RelayStop {
                        throw error.underlying
                    } catch {
                        // Shutting down surfaces as assorted errors from the connection and sleeps.
                        if Task.isCancelled { return }
                        logger.warning("outbox relay connection lost; retrying", metadata: ["error": "\(error)"])
                        try await Task.sleep(for: settings.standbyInterval)
                    }
                }
            }
        } catch is CancellationError {
            // Graceful shutdown: unpublished rows stay in the outbox for the next relay.
        }
        logger.info("outbox relay stopped", metadata: ["schema": "\(schema)"])
    }

    /// Holds the relay lock on one connection (which also LISTENs) for as long as it relays.
    private func leadIfPossible(producer: KafkaProducer) async throws -> Bool {
        try await client.withConnection { connection in
            let locked = try await connection.query(
                "SELECT pg_try_advisory_lock(\(AdvisoryLock.outboxRelay), hashtext(\(schema)))", logger: logger
            ).decode(Bool.self).first { _ in true } ?? false
            guard locked else { return false }
            logger.info("outbox relay active", metadata: ["schema": "\(schema)"])
            do {
                try await connection.listen(on: Outbox.channel(schema: schema)) { notifications in
                    try await relay(notifications: notifications, producer: producer)
                }
            } catch {
                _ = try? await connection.query(
                    "SELECT pg_advisory_unlock(\(AdvisoryLock.outboxRelay), hashtext(\(schema)))", logger: logger)
                throw error
            }
            return true
        }
    }

    /// Drains the outbox on every notification and on every poll tick.
    private func relay(notifications: PostgresNotificationSequence, producer: KafkaProducer) async throws {
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await _ in notifications { wake.yield() }
                throw PersistenceError(code: "listen_ended", message: "notification stream ended", isRetriable: true)
            }
            group.addTask {
                while !Task.isCancelled {
                    wake.yield()
                    try await Task.sleep(for: settings.pollInterval)
                }
            }
            group.addTask {
                var backoff = Backoff(maximum: settings.maximumBackoff)
                for await _ in wakeups {
                    do {
                        try await drain(producer: producer)
                        backoff.reset()
                    } catch let error as RelayStop {
                        throw error
                    } catch {
                        let delay = backoff.next()
                        logger.warning(
                            "outbox publish failed; backing off",
                            metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                        try await Task.sleep(for: delay)
                        wake.yield()
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Publishes unpublished rows batch by batch until none are left.
    func drain(producer: KafkaProducer) async throws {
        while true {
            let rows = try await client.query(
                """
                SELECT id, topic, message_key, event_id, event_type, correlation_id, envelope
                FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT \(settings.batchSize)
                """, logger: logger
            ).decode((Int64, String, String, UUID, String, String, Data).self).all()
            guard !rows.isEmpty else { return }

            let messages = rows.map { row in
                OutgoingMessage(
                    topic: row.1, key: row.2, value: Array(row.6),
                    headers: [
                        (EventHeader.eventId, row.3.uuidString.lowercased()),
                        (EventHeader.eventType, row.4),
                        (EventHeader.correlationId, row.5),
                    ])
            }
            let results = await producer.send(messages)
            let delivered = zip(rows, results).compactMap { row, result in
                (try? result.get()).map { row.0 }
            }
            do {
                try await afterDelivery?(delivered)
            } catch {
                throw RelayStop(underlying: error)
            }
            if !delivered.isEmpty {
                try await client.query(
                    "UPDATE outbox SET published_at = now() WHERE id = ANY(\(delivered))", logger: logger)
            }
            if let failure = results.lazy.compactMap({ result -> KafkaError? in
                if case .failure(let error) = result { return error }
                return nil
            }).first {
                throw failure
            }
            if rows.count < settings.batchSize { return }
        }
    }
}

/// An error from the test seam: it ends the relay as a crash would.
struct RelayStop: Error {
    let underlying: any Error
}

/// Exponential backoff with full jitter.
struct Backoff {
    let initial: Duration
    let maximum: Duration
    private var current: Duration

    init(initial: Duration = .milliseconds(100), maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
        self.current = initial
    }

    mutating func next() -> Duration {
        let delay = current
        current = min(current * 2, maximum)
        return delay * Double.random(in: 0.5...1.0)
    }

    mutating func reset() {
        current = initial
    }
}

extension OutboxRelay: CustomStringConvertible {
    public var description: String { "OutboxRelay(\(schema))" }
}
