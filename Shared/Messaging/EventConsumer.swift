import EventContracts
import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle

/// Consumes topics as one consumer group and applies each event exactly once: the handler's
/// effect and the inbox row commit together, and the offset is stored only after that commit.
///
/// A failure holds back only its own partition, and nothing behind it there is applied or
/// marked until it succeeds: transient and unclassified failures are retried without limit
/// (capped backoff), an event newer than this build waits for an upgrade, and only poison
/// (undecodable, or rejected by its handler with `EventRejected`) goes to `<topic>.dlq` after
/// `maximumAttempts`. Other partitions keep flowing meanwhile.
public struct EventConsumer: Service {
    public struct Settings: Sendable {
        /// Attempts at a poison message before it is dead-lettered.
        public var maximumAttempts = 5
        public var initialBackoff: Duration = .milliseconds(200)
        /// The longest pause between two attempts at a failing message.
        public var maximumBackoff: Duration = .seconds(10)
        /// Messages already fetched are applied together in one transaction, up to this many.
        public var batchSize = 100
        /// A round of applying that takes longer is abandoned and retried: a query in flight on a
        /// connection whose server went away never answers. Below librdkafka's 30 s poll limit.
        public var roundTimeout: Duration = .seconds(20)
        /// On SIGTERM the round in hand may finish for this long before it is abandoned.
        public var shutdownGrace: Duration = .seconds(5)
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
        var queues = PartitionQueues()
        // Checked between rounds: the messages in hand are finished before shutting down.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let now = ContinuousClock.now
            let waitLimit: Duration = queues.ready(at: now, limit: 1).isEmpty
                ? min(.milliseconds(100), max(.zero, (queues.nextRetry ?? now + .seconds(1)) - now)) : .zero
            do {
                for message in try await consumer.poll(maximum: settings.batchSize, timeout: waitLimit) {
                    queues.enqueue(message)
                }
            } catch {
                logger.debug("consumer poll error", metadata: ["error": "\(error)"])
            }
            let ready = queues.ready(at: .now, limit: settings.batchSize)
            guard !ready.isEmpty else { continue }
            var done: [ConsumedMessage] = []
            for outcome in await processBounded(ready, queues: queues) {
                switch outcome {
                case .finished(let message):
                    queues.finished(message)
                    monitor?.finished(topic: message.topic)
                    done.append(message)
                case .failed(let message, let kind, let error):
                    let attempts = queues.attempts(for: message) + 1
                    let delay = backoff(kind: kind, attempt: attempts)
                    let failure = queues.failed(message, kind: kind, error: error, at: .now, retryIn: delay)
                    monitor?.retried(topic: message.topic, kind: kind)
                    logFailure(message, failure: failure, retryIn: delay)
                }
            }
            do {
                try consumer.markDone(done)
            } catch {
                logger.warning("could not store offsets; those messages will be redelivered", metadata: ["error": "\(error)"])
            }
            let changes = queues.pauseChanges
            for key in changes.pause where (try? await consumer.pause(key)) != nil { queues.setPaused(key, true) }
            for key in changes.resume where (try? await consumer.resume(key)) != nil { queues.setPaused(key, false) }
            monitor?.held(queues.failures)
        }
        monitor?.held([:])
        monitor?.attach(nil)
        logger.info("consumer closing: committing offsets and leaving the group", metadata: ["group": "\(name)"])
        // Bounded: a broker that lost track of this member can keep the close waiting on its
        // final commit; offsets not committed only mean redelivery, which the inbox absorbs.
        do {
            try await Detached.run(timeout: .seconds(5)) { await consumer.close() }
        } catch {
            logger.warning("consumer close did not finish in 5 s; stopping without it", metadata: ["group": "\(name)"])
        }
        logger.info("consumer stopped", metadata: ["group": "\(name)"])
    }

    /// `process`, abandoned after `roundTimeout`, or `shutdownGrace` after SIGTERM. Nothing of an
    /// abandoned round is marked: the head of each of its partitions counts as a transient
    /// failure, and what the abandoned work commits later the inbox absorbs on the retry.
    private func processBounded(_ ready: [ConsumedMessage], queues: PartitionQueues) async -> [Outcome] {
        do {
            return try await withThrowingTaskGroup(of: [Outcome]?.self) { group in
                group.addTask {
                    try await Detached.run(timeout: settings.roundTimeout) { await process(ready, queues: queues) }
                }
                group.addTask {
                    try await gracefulShutdown()
                    try await Task.sleep(for: settings.shutdownGrace)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let outcomes = first else { throw CancellationError() }
                return outcomes
            }
        } catch {
            logger.error(
                "a round of events did not finish; abandoned, it will be retried",
                metadata: ["events": "\(ready.count)", "error": "\(error)"])
            var seen: Set<TopicPartition> = []
            return ready.compactMap { message in
                seen.insert(message.topicPartition).inserted
                    ? .failed(message, .transient, "abandoned: \(error)") : nil
            }
        }
    }

    /// Capped exponential backoff with jitter; a newer schema only changes with a deployment.
    private func backoff(kind: FailureKind, attempt: Int) -> Duration {
        if kind == .unsupportedVersion { return settings.maximumBackoff }
        let exponential = settings.initialBackoff * Double(1 << min(attempt - 1, 20))
        return min(exponential, settings.maximumBackoff) * Double.random(in: 0.5...1.0)
    }

    private func logFailure(_ message: ConsumedMessage, failure: PartitionQueues.Failure, retryIn delay: Duration) {
        var metadata: Logger.Metadata = [
            "source": "\(message.topic)/\(message.partition)@\(message.offset)", "attempt": "\(failure.attempts)",
            "failure": "\(failure.kind.rawValue)", "error": "\(failure.error)", "retry_in": "\(delay)",
            "held_for_seconds": "\((ContinuousClock.now - failure.firstFailedAt).components.seconds)",
        ]
        if let correlation = message.headers[EventHeader.correlationId] { metadata["correlation_id"] = "\(correlation)" }
        if let type = message.headers[EventHeader.eventType] { metadata["event_type"] = "\(type)" }
        switch failure.kind {
        case .transient where failure.attempts < 10:
            logger.warning("event handling failed for a transient reason; retrying, its partition waits", metadata: metadata)
        case .unsupportedVersion:
            logger.error("event has a newer schema version than this build; its partition waits for an upgrade", metadata: metadata)
        default:
            logger.error("event handling keeps failing; retrying, its partition waits", metadata: metadata)
        }
    }
}

extension EventConsumer: CustomStringConvertible {
    public var description: String { "EventConsumer(\(name))" }
}
