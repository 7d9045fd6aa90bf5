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
        let aggregateKey = lockKey(envelope)
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

    /// Appends several events in one statement (one round trip instead of one each), in the
    /// given order, in the caller's transaction. Every aggregate's lock is taken before any row
    /// is formed, in key order, so two such batches cannot deadlock on each other.
    public static func append(
        _ events: [(envelope: EventEnvelope, topic: String)], on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard events.count > 1 else {
            for event in events { try await append(event.envelope, topic: event.topic, on: connection, logger: logger) }
            return
        }
        let keys = Set(events.map { lockKey($0.envelope) }).sorted()
        // The envelope is JSON, so valid UTF-8 with no NUL byte: it travels as text and is stored
        // as the same bytes.
        let bodies = try events.map { String(decoding: try $0.envelope.encoded(), as: UTF8.self) }
        // `held` is one row, made after every lock is taken (a volatile call is never skipped),
        // and every row joins it, so each id is drawn with the locks held.
        try await connection.query(prepared:
            """
            WITH held AS (
                     SELECT count(*) FROM (
                         SELECT pg_advisory_xact_lock(\(AdvisoryLock.outboxAggregate), hashtext(key)) FROM unnest(\(keys)::text[]) AS key
                     ) AS locks),
                 notified AS (SELECT pg_notify('outbox_' || current_schema(), ''))
            INSERT INTO outbox (event_id, topic, message_key, event_type, correlation_id, envelope)
            SELECT e.event_id, e.topic, e.message_key, e.event_type, e.correlation_id, convert_to(e.body, 'UTF8')
            FROM unnest(\(events.map(\.envelope.id))::uuid[], \(events.map(\.topic))::text[],
                        \(events.map(\.envelope.aggregateId))::text[], \(events.map(\.envelope.type))::text[],
                        \(events.map(\.envelope.correlationId))::text[], \(bodies)::text[])
                 WITH ORDINALITY AS e(event_id, topic, message_key, event_type, correlation_id, body, position),
                 held, notified
            ORDER BY e.position
            """,
            logger: logger)
        logger.debug(
            "events appended to outbox",
            metadata: ["count": "\(events.count)", "event_ids": "\(events.map { $0.envelope.id.uuidString.lowercased() }.joined(separator: ","))"])
    }

    /// What the advisory lock of an event's aggregate is taken on.
    private static func lockKey(_ envelope: EventEnvelope) -> String {
        "\(envelope.aggregateType):\(envelope.aggregateId)"
    }

    /// The LISTEN/NOTIFY channel the relay of a schema waits on.
    static func channel(schema: String) -> String {
        "outbox_\(schema)"
    }
}
