import EventContracts
import Foundation
import Logging
import Messaging
import Persistence
import PostgresNIO
import ServiceLifecycle
import TestSupport

/// The event the messaging tests publish; EventProbe handles the same type.
struct ProbeRecorded: DomainEventPayload, Equatable {
    static let eventType = "probe.recorded"
    static let schemaVersion = 1
    static let aggregateType = "probe"
    var version: Int
    var poison: Bool = false
}

let logger = TestEnvironment.logger

/// The messaging tables plus what the tests' handlers record into.
func probeMigrations() throws -> [Migration] {
    try MessagingMigrations.all() + [
        Migration(
            id: "probe/0001_tables",
            sql: """
                CREATE TABLE handled (seq bigserial PRIMARY KEY, event_id uuid NOT NULL, aggregate_id text NOT NULL, version int);
                CREATE TABLE aggregates (id text PRIMARY KEY, version int NOT NULL DEFAULT 0);
                """)
    ]
}

extension TestDatabase {
    /// Appends one event in its own transaction and returns its envelope.
    @discardableResult
    func append(
        topic: String, aggregateId: String = UUID().uuidString, version: Int = 1, poison: Bool = false
    ) async throws -> EventEnvelope {
        let envelope = try EventEnvelope(
            payload: ProbeRecorded(version: version, poison: poison), aggregateId: aggregateId,
            correlationId: "test-\(UUID().uuidString.prefix(8))", producer: "tests")
        try await client.inTransaction(logger: logger) { connection in
            try await Outbox.append(envelope, topic: topic, on: connection, logger: logger)
        }
        return envelope
    }

    /// Like a real aggregate write: lock the row, bump its version, append the event with it.
    func appendVersioned(topic: String, aggregateId: String) async throws {
        try await client.inTransaction(logger: logger) { connection in
            let version = try await connection.query(
                """
                INSERT INTO aggregates (id, version) VALUES (\(aggregateId), 1)
                ON CONFLICT (id) DO UPDATE SET version = aggregates.version + 1 RETURNING version
                """, logger: logger
            ).decode(Int.self).all()[0]
            let envelope = try EventEnvelope(
                payload: ProbeRecorded(version: version), aggregateId: aggregateId, correlationId: "order-test",
                producer: "tests")
            try await Outbox.append(envelope, topic: topic, on: connection, logger: logger)
        }
    }

    /// The same for several aggregates in one transaction, their events appended in one
    /// statement (`Outbox.append(_:on:logger:)`); rows locked in id order.
    func appendVersioned(topic: String, aggregateIds: [String]) async throws {
        try await client.inTransaction(logger: logger) { connection in
            var events: [(envelope: EventEnvelope, topic: String)] = []
            for aggregateId in aggregateIds.sorted() {
                let version = try await connection.query(
                    """
                    INSERT INTO aggregates (id, version) VALUES (\(aggregateId), 1)
                    ON CONFLICT (id) DO UPDATE SET version = aggregates.version + 1 RETURNING version
                    """, logger: logger
                ).decode(Int.self).all()[0]
                events.append((
                    try EventEnvelope(
                        payload: ProbeRecorded(version: version), aggregateId: aggregateId, correlationId: "order-test",
                        producer: "tests"),
                    topic
                ))
            }
            try await Outbox.append(events, on: connection, logger: logger)
        }
    }

    func unpublishedCount() async throws -> Int {
        try await count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    }

    func handledCount() async throws -> Int {
        try await count("SELECT count(*) FROM handled")
    }

    /// Polls until the condition holds or the timeout passes; returns whether it held.
    func eventually(timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }
}

/// Runs services for the duration of `body`, then shuts them down gracefully.
func withServices<Result: Sendable>(
    _ services: [any Service], _ body: () async throws -> Result
) async throws -> Result {
    let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
    async let running: Void = group.run()
    do {
        let result = try await body()
        await group.triggerGracefulShutdown()
        try await running
        return result
    } catch {
        logger.error("test body failed; stopping services", metadata: ["error": "\(String(reflecting: error))"])
        await group.triggerGracefulShutdown()
        try? await running
        throw error
    }
}

/// A running EventProbe process (see Tests/EventProbe).
final class ProbeProcess: Sendable {
    let process: Process

    init(_ environment: [String: String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestEnvironment.binDirectory).appendingPathComponent("EventProbe")
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        try process.run()
        self.process = process
    }

    static func environment(
        mode: String, database: TestDatabase, brokers: String = TestEnvironment.brokers
    ) -> [String: String] {
        ["PROBE_MODE": mode, "PROBE_SCHEMA": database.schema, "PROBE_DATABASE_URL": TestEnvironment.databaseURL, "PROBE_BROKERS": brokers]
    }

    /// Waits for the process to exit and returns its status.
    func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func stop() async throws -> Int32 {
        if process.isRunning { process.terminate() }
        return try await waitForExit()
    }
}
