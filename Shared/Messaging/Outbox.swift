import EventContracts
import Foundation
import Logging
import Persistence
import PostgresNIO

/// Writes events to the outbox table inside the caller's transaction.
public enum Outbox {
    /// Appends an event in the same transaction as the state change it describes.
    ///
    /// A transaction-scoped advisory lock on the aggregate serialises writers of one aggregate,
    /// so its outbox ids are allocated in commit order and the relay can never reorder them.
    public static func append(
        _ envelope: EventEnvelope, topic: String, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let aggregateKey = "\(envelope.aggregateType):\(envelope.aggregateId)"
        let body = try envelope.encoded()
        try await connection.query(
            "SELECT pg_advisory_xact_lock(\(AdvisoryLock.outboxAggregate), hashtext(\(aggregateKey)))",
            logger: logger)
        try await connection.query(
            """
            INSERT INTO outbox (event_id, topic, message_key, event_type, correlation_id, envelope)
            VALUES (\(envelope.id), \(topic), \(envelope.aggregateId), \(envelope.type), \(envelope.correlationId), \(body))
            """,
            logger: logger)
        // Delivered on commit (and collapsed per transaction); wakes the relay within milliseconds.
        try await connection.query("SELECT pg_notify('outbox_' || current_schema(), '')", logger: logger)
        logger.debug(
            "event appended to outbox",
            metadata: ["event_type": "\(envelope.type)", "event_id": "\(envelope.id)", "aggregate_id": "\(envelope.aggregateId)"])
    }

    /// The LISTEN/NOTIFY channel the relay of a schema waits on.
    static func channel(schema: String) -> String {
        "outbox_\(schema)"
    }
}
