import EventContracts
import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Publishes a schema's outbox rows to Kafka, in id order, marking them only after the broker
/// acknowledged them, and never a row behind one that failed. One relay per schema is active at
/// a time (a session advisory lock); it checks every few seconds that its connection still holds
/// the lock (a database restart or a network cut releases it), and otherwise stops relaying and
/// competes for it again. It wakes on NOTIFY from committing writers and polls slowly as a
/// fallback. The producer is shared and outlives the relay (list it before the relay).
public struct OutboxRelay: Service {
    public struct Settings: Sendable {
        public var batchSize = 500
        /// Fallback scan interval when no notification arrives.
        public var pollInterval: Duration = .seconds(1)
        /// How often a standby instance tries to become the active relay.
        public var standbyInterval: Duration = .seconds(2)
        public var maximumBackoff: Duration = .seconds(5)
        /// How often the active relay checks that it still holds the lock, and how long it waits.
        public var leaseCheckInterval: Duration = .seconds(2)
        public var leaseCheckTimeout: Duration = .seconds(5)
        /// How long a batch waits for the broker's delivery reports before it is retried.
        public var deliveryTimeout: Duration = .seconds(10)
        /// A drain (queries, publish, mark) that takes longer is abandoned and started afresh.
        public var drainTimeout: Duration = .seconds(60)
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
    let status: RelayStatus

    public init(
        client: PostgresClient, schema: String, producer: KafkaProducer, settings: Settings = .init(),
        logger: Logger, status: RelayStatus = RelayStatus(), afterDelivery: AfterDelivery? = nil
    ) {
        self.client = client
        self.schema = schema
        self.producer = producer
        self.settings = settings
        self.logger = logger
        self.status = status
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
            // The drain scans the unpublished rows' partial index in id order. As a bitmap scan
            // (the planner's choice while its statistics count many unpublished rows: a young
            // table, or one analysed during a backlog) it visits the heap row of every entry
            // published since the last vacuum and never marks one dead: 5 ms a drain after a
            // minute of load. A plain index scan marks them as it passes, and the next skips them.
            // Its statements are planned for each run: a plan cached while the outbox was small
            // (a scan of the whole table to mark a batch) would stay while it grows.
            // This connection is the relay's alone and is closed, never pooled, when it stops.
            try await connection.query(
                "SELECT set_config('enable_bitmapscan', 'off', false), set_config('plan_cache_mode', 'force_custom_plan', false)",
                logger: logger)
            logger.info("outbox relay active", metadata: ["schema": "\(schema)"])
            status.setActive(true)
            defer { status.setActive(false) }
            do {
                try await connection.listen(on: Outbox.channel(schema: schema)) { notifications in
                    try await relay(notifications: notifications, producer: producer, leader: connection)
                }
            } catch {
                // The session lock goes with the session: close it rather than send an unlock,
                // which on a connection whose server went away may never be answered. Closed
                // before it goes back to the pool, so the pool never lends it out again.
                await connection.closeBeforeLeaseEnds()
                throw error
            }
            return true
        }
    }

    /// Drains the outbox on every notification and on every poll tick, while the lock holds.
    ///
    /// A query on a connection whose server went away (a database restart) can wait for ever and
    /// ignores cancellation, so no child here is ever awaited past its cancellation: the drain and
    /// the notification loop run detached and are abandoned when the relay stops, and a drain
    /// that takes longer than `drainTimeout` is abandoned and started afresh.
    private func relay(
        notifications: PostgresNotificationSequence, producer: KafkaProducer, leader: PostgresConnection
    ) async throws {
        let wake = WakeSignal()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await Detached.run {
                    for try await _ in notifications { wake.signal() }
                    throw PersistenceError(code: "listen_ended", message: "notification stream ended", isRetriable: true)
                }
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: settings.leaseCheckInterval)
                    try await checkLease(on: leader)
                }
            }
            group.addTask {
                var backoff = Backoff(maximum: settings.maximumBackoff)
                while true {
                    do {
                        try await Detached.run(timeout: settings.drainTimeout) { try await drain(producer: producer, on: leader) }
                        backoff.reset()
                        try await wake.wait(upTo: settings.pollInterval)
                    } catch let error as RelayStop {
                        throw error
                    } catch {
                        if Task.isCancelled { throw CancellationError() }
                        let delay = backoff.next()
                        logger.warning(
                            "outbox publish failed; backing off",
                            metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                        try await Task.sleep(for: delay)
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Throws unless the leader's connection answers in time and still holds the relay lock. A
    /// connection whose server went away may never answer (nor honour cancellation), so the
    /// probe is not awaited past the timeout, and the connection is closed.
    private func checkLease(on connection: PostgresConnection) async throws {
        let schema = self.schema
        let logger = self.logger
        let holds = try? await Detached.run(timeout: settings.leaseCheckTimeout) {
            try await connection.query(
                """
                SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
                    AND classid = \(AdvisoryLock.outboxRelay)::oid AND objid = hashtext(\(schema))::oid
                    AND objsubid = 2 AND granted)
                """, logger: logger
            ).decode(Bool.self).first { _ in true } ?? false
        }
        guard holds == true else {
            throw LeaseLost(reason: holds == nil ? "the relay's connection did not answer" : "the lock is no longer held")
        }
    }

    /// Publishes unpublished rows batch by batch until none are left, on the relay's connection.
    func drain(producer: KafkaProducer, on connection: PostgresConnection) async throws {
        while true {
            let rows = try await connection.query(prepared:
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
            let results = await send(messages)
            let delivered = Self.markable(rows.map(\.0), results: results)
            do {
                try await afterDelivery?(delivered)
            } catch {
                throw RelayStop(underlying: error)
            }
            if !delivered.isEmpty {
                try await connection.query(prepared:
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

extension OutboxRelay {
    /// The rows that may be marked published: those acknowledged before the first failure. A row
    /// behind a failed one stays unpublished, so the retry sends both again in their order (the
    /// consumers' inbox drops the copy) instead of the later one overtaking.
    static func markable(_ ids: [Int64], results: [Result<Void, KafkaError>]) -> [Int64] {
        Array(zip(ids, results).prefix { _, result in (try? result.get()) != nil }.map(\.0))
    }

    /// Sends a batch, giving up waiting after `deliveryTimeout` (a stalled broker): every message
    /// not yet acknowledged then counts as failed and is sent again later.
    private func send(_ messages: [OutgoingMessage]) async -> [Result<Void, KafkaError>] {
        await withTaskGroup(of: [Result<Void, KafkaError>]?.self) { group in
            group.addTask { await producer.send(messages) }
            group.addTask {
                try? await Task.sleep(for: settings.deliveryTimeout)
                return nil
            }
            var results: [Result<Void, KafkaError>]?
            for await first in group {
                results = first
                group.cancelAll()
                if let first { return first }
            }
            return results ?? []
        }
    }
}

/// Whether this instance's relay holds the lock and publishes (for readiness and metrics).
public final class RelayStatus: Sendable {
    private let active = Atomic<Bool>(false)

    public init() {}

    public var isActive: Bool { active.load(ordering: .relaxed) }

    func setActive(_ value: Bool) { active.store(value, ordering: .relaxed) }
}

/// The active relay lost its lock (its session ended) or its connection stopped answering.
struct LeaseLost: Error, CustomStringConvertible {
    let reason: String
    var description: String { "relay lease lost: \(reason)" }
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
