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
        // One round trip: the row is formed (and its id drawn) only after the lock is held. The
        // notification is delivered on commit, collapsed per transaction, and wakes the relay.
        try await connection.query(prepared:
            """
            WITH locked AS (SELECT pg_advisory_xact_lock(\(AdvisoryLock.outboxAggregate), hashtext(\(aggregateKey)))),
                 notified AS (SELECT pg_notify('outbox_' || current_schema(), ''))
            INSERT INTO outbox (event_id, topic, message_key, event_type, correlation_id, envelope)
            SELECT \(envelope.id), \(topic), \(envelope.aggregateId), \(envelope.type), \(envelope.correlationId), \(body)
            FROM locked, notified
            """,
            logger: logger)
        logger.debug(
            "event appended to outbox",
            metadata: ["event_type": "\(envelope.type)", "event_id": "\(envelope.id)", "aggregate_id": "\(envelope.aggregateId)"])
    }

    /// The LISTEN/NOTIFY channel the relay of a schema waits on.
    static func channel(schema: String) -> String {
        "outbox_\(schema)"
    }
}
