import EventContracts
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// What a handler gets: the event, the open transaction its effect must use, and a logger
/// that carries the event's correlation id.
public struct EventContext: Sendable {
    public let envelope: EventEnvelope
    public let connection: PostgresConnection
    public let logger: Logger
    /// Name of the producing service, for envelopes of follow-up events.
    public let producer: String
    let afterCommit: AfterCommit

    /// A context outside a consumer (to call a handler directly, as tests do): the caller owns the
    /// transaction, and actions given to `onCommit` are not run.
    public init(envelope: EventEnvelope, connection: PostgresConnection, logger: Logger, producer: String) {
        self.init(envelope: envelope, connection: connection, logger: logger, producer: producer, afterCommit: AfterCommit())
    }

    init(envelope: EventEnvelope, connection: PostgresConnection, logger: Logger, producer: String, afterCommit: AfterCommit) {
        self.envelope = envelope
        self.connection = connection
        self.logger = logger
        self.producer = producer
        self.afterCommit = afterCommit
    }

    /// Runs `action` once the transaction has committed, e.g. to wake a worker that reads what
    /// the handler wrote (woken earlier, it would find nothing). Dropped if it rolls back.
    public func onCommit(_ action: @escaping @Sendable () -> Void) {
        afterCommit.append(action)
    }

    /// Appends a follow-up event in the same transaction, with correlation and causation set.
    public func publish<Payload: DomainEventPayload>(
        _ payload: Payload, aggregateId: String, topic: String
    ) async throws {
        let envelope = try EventEnvelope(
            payload: payload, aggregateId: aggregateId, correlationId: envelope.correlationId,
            causationId: envelope.id.uuidString.lowercased(), producer: producer)
        try await Outbox.append(envelope, topic: topic, on: connection, logger: logger)
    }
}

/// Handles one event type, up to a schema version.
public struct EventHandler: Sendable {
    public var eventType: String
    /// Newer versions are skipped with a log line rather than misread.
    public var maximumSchemaVersion: Int
    public var handle: @Sendable (EventContext) async throws -> Void

    public init(
        eventType: String, maximumSchemaVersion: Int = 1, handle: @escaping @Sendable (EventContext) async throws -> Void
    ) {
        self.eventType = eventType
        self.maximumSchemaVersion = maximumSchemaVersion
        self.handle = handle
    }

    /// A handler for a typed payload.
    public static func on<Payload: DomainEventPayload>(
        _ type: Payload.Type, handle: @escaping @Sendable (Payload, EventContext) async throws -> Void
    ) -> EventHandler {
        EventHandler(eventType: Payload.eventType, maximumSchemaVersion: Payload.schemaVersion) { context in
            try await handle(try context.envelope.decodePayload(as: Payload.self), context)
        }
    }
}

/// What a consumer transaction's handlers asked to run after it commits.
final class AfterCommit: Sendable {
    private let actions = Mutex<[@Sendable () -> Void]>([])

    func append(_ action: @escaping @Sendable () -> Void) {
        actions.withLock { $0.append(action) }
    }

    /// Runs them, once: call after the commit succeeded.
    func run() {
        let due = actions.withLock { actions in
            defer { actions = [] }
            return actions
        }
        for action in due { action() }
    }
}
