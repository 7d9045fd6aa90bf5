import EventContracts
import Foundation
import Logging
import Persistence
import PostgresNIO

/// A handler's verdict that an event can never be applied (it contradicts what we know, not
/// just "not yet"): the event is dead-lettered after the consumer's attempts, not retried forever.
public struct EventRejected: Error, CustomStringConvertible, Sendable {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { "event rejected: \(reason)" }
}

extension EventConsumer {
    enum Outcome: Sendable {
        /// Applied, a duplicate, skipped (a type this consumer does not handle) or dead-lettered.
        case finished(ConsumedMessage)
        case failed(ConsumedMessage, FailureKind, String)
    }

    /// Sorts a handler's failure: poison is what no retry can fix.
    static func classify(_ error: any Error) -> FailureKind {
        switch error {
        case is EventRejected, is DecodingError:
            return .poison
        case let error as PostgresTransactionError:
            return error.closureError.map(classify) ?? (TransientErrors.isTransient(error) ? .transient : .unclassified)
        default:
            return TransientErrors.isTransient(error) ? .transient : .unclassified
        }
    }

    /// Applies ready messages (in order per partition) and says what became of each. When every
    /// one has a handler they are first tried as one transaction; if that fails, one by one,
    /// and a partition stops at its first failure.
    func process(_ ready: [ConsumedMessage], queues: PartitionQueues) async -> [Outcome] {
        // A consumer reads whole topics, and most events on them are for other services: those are
        // passed over by their type header, without decoding anything (in their place in order).
        let relevant = ready.filter { !isForOthers($0) }
        if relevant.count > 1, let planned = plan(relevant) {
            do {
                let afterCommit = try await client.inTransaction(logger: logger) { connection in
                    let afterCommit = AfterCommit()
                    let beforeCommit = BeforeCommit()
                    var fresh = try await claim(planned.map { ($0.0, $0.1) }, on: connection)
                    for (_, envelope, handler) in planned {
                        let logger = logger(for: envelope)
                        // Each event once: one handled before, or a second copy in this batch, is skipped.
                        guard fresh.remove(envelope.id) != nil else {
                            logger.debug("duplicate event ignored")
                            continue
                        }
                        try await handle(
                            envelope, handler: handler, logger: logger, on: connection, afterCommit: afterCommit,
                            beforeCommit: beforeCommit)
                    }
                    try await beforeCommit.run(on: connection, logger: logger)
                    return afterCommit
                }
                afterCommit.run()
                return ready.map(Outcome.finished)
            } catch {
                logger.debug("batch failed; applying its messages one by one", metadata: ["error": "\(error)"])
            }
        }
        var outcomes: [Outcome] = []
        var stopped: Set<TopicPartition> = []
        for message in ready {
            let key = message.topicPartition
            guard !stopped.contains(key) else { continue }
            let outcome = await process(message, previousAttempts: queues.attempts(for: message))
            if case .failed = outcome { stopped.insert(key) }
            outcomes.append(outcome)
        }
        return outcomes
    }

    /// An event whose type header names a type this consumer has no handler for.
    private func isForOthers(_ message: ConsumedMessage) -> Bool {
        guard let type = message.headers[EventHeader.eventType] else { return false }
        return handlers[type] == nil
    }

    /// The batch, when every message decodes and has a handler that reads its version.
    private func plan(_ batch: [ConsumedMessage]) -> [(ConsumedMessage, EventEnvelope, EventHandler)]? {
        let planned = batch.compactMap { message -> (ConsumedMessage, EventEnvelope, EventHandler)? in
            guard let envelope = try? EventEnvelope.decode(from: Data(message.value)),
                  let handler = handlers[envelope.type], envelope.schemaVersion <= handler.maximumSchemaVersion
            else { return nil }
            return (message, envelope, handler)
        }
        return planned.count == batch.count ? planned : nil
    }

    func logger(for envelope: EventEnvelope) -> Logger {
        var logger = self.logger
        logger[metadataKey: "correlation_id"] = "\(envelope.correlationId)"
        logger[metadataKey: "event_id"] = "\(envelope.id)"
        logger[metadataKey: "event_type"] = "\(envelope.type)"
        return logger
    }

    /// One attempt at one message.
    func process(_ message: ConsumedMessage, previousAttempts: Int) async -> Outcome {
        if isForOthers(message) { return .finished(message) }
        let envelope: EventEnvelope
        do {
            envelope = try EventEnvelope.decode(from: Data(message.value))
        } catch {
            return await deadLetter(message, error: "undecodable envelope: \(error)")
        }
        let logger = logger(for: envelope)
        guard let handler = handlers[envelope.type] else {
            logger.debug("skipping event type this consumer does not handle")
            return .finished(message)
        }
        guard envelope.schemaVersion <= handler.maximumSchemaVersion else {
            return .failed(
                message, .unsupportedVersion,
                "schema version \(envelope.schemaVersion); this build reads up to \(handler.maximumSchemaVersion)")
        }
        do {
            let afterCommit = try await client.inTransaction(logger: logger) { connection in
                let afterCommit = AfterCommit()
                let beforeCommit = BeforeCommit()
                try await apply(
                    envelope, message: message, handler: handler, logger: logger, on: connection, afterCommit: afterCommit,
                    beforeCommit: beforeCommit)
                try await beforeCommit.run(on: connection, logger: logger)
                return afterCommit
            }
            afterCommit.run()
            return .finished(message)
        } catch {
            let kind = Self.classify(error)
            if kind == .poison, previousAttempts + 1 >= settings.maximumAttempts {
                return await deadLetter(message, error: "\(error)")
            }
            return .failed(message, kind, String(String(reflecting: error).prefix(1000)))
        }
    }

    /// The inbox row and the handler's effect, on the caller's transaction.
    private func apply(
        _ envelope: EventEnvelope, message: ConsumedMessage, handler: EventHandler, logger: Logger,
        on connection: PostgresConnection, afterCommit: AfterCommit, beforeCommit: BeforeCommit
    ) async throws {
        guard try await !claim([(message, envelope)], on: connection).isEmpty else {
            logger.debug("duplicate event ignored")
            return
        }
        try await handle(
            envelope, handler: handler, logger: logger, on: connection, afterCommit: afterCommit, beforeCommit: beforeCommit)
    }

    /// Writes the inbox rows of events in one statement, on the caller's transaction; returns the
    /// ids of those not handled before. Only an event's first copy in the list is written (the
    /// relay may have published one twice), so a second copy is not among them either.
    func claim(_ events: [(ConsumedMessage, EventEnvelope)], on connection: PostgresConnection) async throws -> Set<UUID> {
        var seen: Set<UUID> = []
        var ids: [UUID] = []
        var types: [String] = []
        var topics: [String] = []
        var partitions: [Int32] = []
        var offsets: [Int64] = []
        for (message, envelope) in events where seen.insert(envelope.id).inserted {
            ids.append(envelope.id)
            types.append(envelope.type)
            topics.append(message.topic)
            partitions.append(message.partition)
            offsets.append(message.offset)
        }
        let inserted = try await connection.query(prepared:
            """
            INSERT INTO inbox (consumer, event_id, event_type, topic, kafka_partition, kafka_offset)
            SELECT \(name), event_id, event_type, topic, kafka_partition, kafka_offset
            FROM unnest(\(ids)::uuid[], \(types)::text[], \(topics)::text[], \(partitions)::integer[], \(offsets)::bigint[])
                WITH ORDINALITY AS e(event_id, event_type, topic, kafka_partition, kafka_offset, position)
            ORDER BY position
            ON CONFLICT DO NOTHING RETURNING event_id
            """, logger: logger
        ).decode(UUID.self).all()
        return Set(inserted)
    }

    /// The handler's effect, on the caller's transaction, once the event's inbox row is written.
    private func handle(
        _ envelope: EventEnvelope, handler: EventHandler, logger: Logger, on connection: PostgresConnection,
        afterCommit: AfterCommit, beforeCommit: BeforeCommit
    ) async throws {
        let handlers = self.handlers
        let dispatch: EventContext.Dispatch = { parked, context in
            // A parked event's handler may be gone (a type no longer handled): nothing to apply.
            try await handlers[parked.type]?.handle(context)
        }
        try await CorrelationScope.$id.withValue(envelope.correlationId) {
            try await handler.handle(
                EventContext(
                    envelope: envelope, connection: connection, logger: logger, producer: name, afterCommit: afterCommit,
                    beforeCommit: beforeCommit, dispatch: dispatch))
        }
    }

    /// Parks the message on `<topic>.dlq`; if the broker does not take it, that is a transient
    /// failure of the message and it is tried again later.
    private func deadLetter(_ message: ConsumedMessage, error: String) async -> Outcome {
        let parked = OutgoingMessage(
            topic: Topic.deadLetter(of: message.topic), key: message.key ?? "", value: message.value,
            headers: message.headers.map { ($0.key, $0.value) } + [
                (EventHeader.dlqError, String(error.prefix(2000))),
                (EventHeader.dlqConsumer, name),
                (EventHeader.dlqSource, "\(message.topic)/\(message.partition)@\(message.offset)"),
            ])
        switch await deadLetters.send([parked]).first {
        case .success?:
            monitor?.deadLettered(topic: message.topic)
            logger.error(
                "message dead-lettered",
                metadata: ["source": "\(message.topic)/\(message.partition)@\(message.offset)", "error": "\(error)"])
            return .finished(message)
        case .failure(let failure)?:
            return .failed(message, .transient, "dead-letter publish failed: \(failure)")
        case nil:
            return .failed(message, .transient, "dead-letter publish returned nothing")
        }
    }
}
