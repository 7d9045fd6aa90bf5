import EventContracts
import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle

/// Consumes topics as one consumer group and applies each event exactly once: the handler's
/// effect and the inbox row commit together, and the offset is stored only after that commit.
/// A message that keeps failing goes to `<topic>.dlq` after bounded retries.
public struct EventConsumer: Service {
    public struct Settings: Sendable {
        public var maximumAttempts = 5
        public var initialBackoff: Duration = .milliseconds(200)
        public var maximumBackoff: Duration = .seconds(5)
        /// Messages already fetched are applied together in one transaction, up to this many.
        public var batchSize = 100
        public init() {}
    }

    let name: String
    let topics: [String]
    let handlers: [String: EventHandler]
    let client: PostgresClient
    let kafka: KafkaConfiguration
    let deadLetters: KafkaProducer
    let settings: Settings
    let logger: Logger
    let monitor: ConsumerMonitor?

    /// - Parameter name: the consumer group id and the inbox's consumer name (e.g. `escrow-service`).
    public init(
        name: String, topics: [String], handlers: [EventHandler], client: PostgresClient,
        kafka: KafkaConfiguration, deadLetters: KafkaProducer, settings: Settings = .init(), logger: Logger,
        monitor: ConsumerMonitor? = nil
    ) {
        self.name = name
        self.topics = topics
        self.handlers = Dictionary(handlers.map { ($0.eventType, $0) }) { _, last in last }
        self.client = client
        self.kafka = kafka
        self.deadLetters = deadLetters
        self.settings = settings
        self.logger = logger
        self.monitor = monitor
    }

    public func run() async throws {
        let consumer = try KafkaConsumer(configuration: kafka, groupId: name, topics: topics)
        monitor?.attach(consumer)
        logger.info("consumer started", metadata: ["group": "\(name)", "topics": "\(topics)"])
        // Checked between batches: the messages in hand are finished before shutting down.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let first: ConsumedMessage
            do {
                guard let next = try await consumer.poll() else { continue }
                first = next
            } catch {
                logger.debug("consumer poll error", metadata: ["error": "\(error)"])
                continue
            }
            var batch = [first]
            while batch.count < settings.batchSize, let next = try? await consumer.poll(timeout: .zero) {
                batch.append(next)
            }
            for message in await process(batch) {
                monitor?.finished(topic: message.topic)
                do {
                    try consumer.markDone(message)
                } catch {
                    logger.warning("could not store offset; the message will be redelivered", metadata: ["error": "\(error)"])
                }
            }
        }
        monitor?.attach(nil)
        await consumer.close()
        logger.info("consumer stopped", metadata: ["group": "\(name)"])
    }

    /// Applies a batch and returns the messages that are finished, in order. When every message
    /// has a handler the batch is one transaction; if it fails, each message is retried alone.
    func process(_ batch: [ConsumedMessage]) async -> [ConsumedMessage] {
        if batch.count > 1 {
            let planned = batch.compactMap { message -> (ConsumedMessage, EventEnvelope, EventHandler)? in
                guard let envelope = try? EventEnvelope.decode(from: Data(message.value)),
                      let handler = handlers[envelope.type], envelope.schemaVersion <= handler.maximumSchemaVersion
                else { return nil }
                return (message, envelope, handler)
            }
            if planned.count == batch.count {
                do {
                    let afterCommit = AfterCommit()
                    try await client.inTransaction(logger: logger) { connection in
                        for (message, envelope, handler) in planned {
                            try await apply(
                                envelope, message: message, handler: handler, logger: logger(for: envelope), on: connection,
                                afterCommit: afterCommit)
                        }
                    }
                    afterCommit.run()
                    return batch
                } catch {
                    logger.debug("batch failed; applying its messages one by one", metadata: ["error": "\(error)"])
                }
            }
        }
        var finished: [ConsumedMessage] = []
        for message in batch {
            guard await process(message) else { break }
            finished.append(message)
        }
        return finished
    }

    private func logger(for envelope: EventEnvelope) -> Logger {
        var logger = self.logger
        logger[metadataKey: "correlation_id"] = "\(envelope.correlationId)"
        logger[metadataKey: "event_id"] = "\(envelope.id)"
        logger[metadataKey: "event_type"] = "\(envelope.type)"
        return logger
    }

    /// Returns true when the message is finished (handled, skipped or dead-lettered).
    func process(_ message: ConsumedMessage) async -> Bool {
        let envelope: EventEnvelope
        do {
            envelope = try EventEnvelope.decode(from: Data(message.value))
        } catch {
            return await deadLetter(message, error: "undecodable envelope: \(error)")
        }
        let logger = logger(for: envelope)
        guard let handler = handlers[envelope.type] else {
            logger.debug("skipping event type this consumer does not handle")
            return true
        }
        guard envelope.schemaVersion <= handler.maximumSchemaVersion else {
            logger.warning(
                "skipping event with a newer schema version",
                metadata: ["schema_version": "\(envelope.schemaVersion)", "supported": "\(handler.maximumSchemaVersion)"])
            return true
        }

        var backoff = Backoff(initial: settings.initialBackoff, maximum: settings.maximumBackoff)
        for attempt in 1...settings.maximumAttempts {
            do {
                try await handleOnce(envelope, message: message, handler: handler, logger: logger)
                return true
            } catch {
                logger.warning(
                    "event handler failed",
                    metadata: ["attempt": "\(attempt)", "error": "\(String(reflecting: error))"])
                if attempt == settings.maximumAttempts {
                    return await deadLetter(message, error: "\(error)")
                }
                if Task.isShuttingDownGracefully { return false }
                try? await Task.sleep(for: backoff.next())
            }
        }
        return false
    }

    private func handleOnce(
        _ envelope: EventEnvelope, message: ConsumedMessage, handler: EventHandler, logger: Logger
    ) async throws {
        let afterCommit = AfterCommit()
        try await client.inTransaction(logger: logger) { connection in
            try await apply(envelope, message: message, handler: handler, logger: logger, on: connection, afterCommit: afterCommit)
        }
        afterCommit.run()
    }

    /// The inbox row and the handler's effect, on the caller's transaction.
    private func apply(
        _ envelope: EventEnvelope, message: ConsumedMessage, handler: EventHandler, logger: Logger,
        on connection: PostgresConnection, afterCommit: AfterCommit
    ) async throws {
        let inserted = try await connection.query(
            """
            INSERT INTO inbox (consumer, event_id, event_type, topic, kafka_partition, kafka_offset)
            VALUES (\(name), \(envelope.id), \(envelope.type), \(message.topic), \(message.partition), \(message.offset))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger
        ).collect()
        guard !inserted.isEmpty else {
            logger.debug("duplicate event ignored")
            return
        }
        try await CorrelationScope.$id.withValue(envelope.correlationId) {
            try await handler.handle(
                EventContext(envelope: envelope, connection: connection, logger: logger, producer: name, afterCommit: afterCommit))
        }
    }

    /// Parks the message on `<topic>.dlq`; retries the broker until it accepts or shutdown begins.
    private func deadLetter(_ message: ConsumedMessage, error: String) async -> Bool {
        let parked = OutgoingMessage(
            topic: Topic.deadLetter(of: message.topic), key: message.key ?? "", value: message.value,
            headers: message.headers.map { ($0.key, $0.value) } + [
                (EventHeader.dlqError, String(error.prefix(2000))),
                (EventHeader.dlqConsumer, name),
                (EventHeader.dlqSource, "\(message.topic)/\(message.partition)@\(message.offset)"),
            ])
        var backoff = Backoff(initial: settings.initialBackoff, maximum: settings.maximumBackoff)
        while true {
            switch await deadLetters.send([parked]).first {
            case .success?:
                monitor?.deadLettered(topic: message.topic)
                logger.error(
                    "message dead-lettered",
                    metadata: ["source": "\(message.topic)/\(message.partition)@\(message.offset)", "error": "\(error)"])
                return true
            case .failure(let failure)?:
                logger.warning("dead-letter publish failed", metadata: ["error": "\(failure)"])
            case nil:
                return false
            }
            if Task.isShuttingDownGracefully || Task.isCancelled { return false }
            try? await Task.sleep(for: backoff.next())
        }
    }
}

extension EventConsumer: CustomStringConvertible {
    public var description: String { "EventConsumer(\(name))" }
}
