import EventContracts
import Foundation
import Logging
import Persistence
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
    let beforeCommit: BeforeCommit
    /// Applies a parked event with the consumer's handlers; nil outside a consumer.
    let dispatch: Dispatch?
    /// Made outside a consumer: the handler runs its end-of-transaction work itself.
    let runsOwnEnd: Bool

    typealias Dispatch = @Sendable (EventEnvelope, EventContext) async throws -> Void

    /// A context outside a consumer (to call a handler directly, as tests do): the caller owns the
    /// transaction, actions given to `onCommit` are not run, and parked events are not resumed.
    public init(envelope: EventEnvelope, connection: PostgresConnection, logger: Logger, producer: String) {
        self.init(
            envelope: envelope, connection: connection, logger: logger, producer: producer, afterCommit: AfterCommit(),
            beforeCommit: BeforeCommit(), dispatch: nil, runsOwnEnd: true)
    }

    init(
        envelope: EventEnvelope, connection: PostgresConnection, logger: Logger, producer: String, afterCommit: AfterCommit,
        beforeCommit: BeforeCommit, dispatch: Dispatch?, runsOwnEnd: Bool = false
    ) {
        self.envelope = envelope
        self.connection = connection
        self.logger = logger
        self.producer = producer
        self.afterCommit = afterCommit
        self.beforeCommit = beforeCommit
        self.dispatch = dispatch
        self.runsOwnEnd = runsOwnEnd
    }

    /// The transaction's one `Work` of this type (made on first use), run just before the commit,
    /// after every event the consumer applies in this transaction: work merged across events and
    /// done last, such as updates of hot rows that should be locked as briefly as possible.
    public func atTransactionEnd<Work: TransactionEndWork>(_ type: Work.Type, make: () -> Work) -> Work {
        beforeCommit.shared(type, make: make)
    }

    /// Parks this event until `prerequisite` (e.g. `payment:<id>`) has been handled, unless
    /// `isMet` says it has; returns true when parked, and the handler then stops. Events overtake
    /// each other because topics are not ordered with each other; the handler of the
    /// prerequisite calls `resumeDeferred` with the same name. Both take a lock on the name, so
    /// a check and a resume in concurrent transactions cannot miss each other.
    public func deferUnless(_ prerequisite: String, isMet: () async throws -> Bool) async throws -> Bool {
        try await lock(prerequisite)
        if try await isMet() { return false }
        try await connection.query(
            """
            INSERT INTO deferred_events (consumer, waits_for, event_id, event_type, envelope)
            VALUES (\(producer), \(prerequisite), \(envelope.id), \(envelope.type), \(try envelope.encoded()))
            ON CONFLICT (consumer, event_id) DO NOTHING
            """, logger: logger)
        logger.info("event deferred until its prerequisite arrives", metadata: ["waits_for": "\(prerequisite)"])
        return true
    }

    private func lock(_ prerequisite: String) async throws {
        try await connection.query(prepared:
            "SELECT pg_advisory_xact_lock(\(AdvisoryLock.deferredEvents), hashtext(\(producer) || ':' || \(prerequisite)))",
            logger: logger)
    }

    /// Applies, in the order they were parked and in this transaction, the events that waited
    /// for `prerequisite`. Call it once the prerequisite's effect is written.
    public func resumeDeferred(_ prerequisite: String) async throws {
        try await lock(prerequisite)
        let rows = try await connection.query(prepared:
            "DELETE FROM deferred_events WHERE consumer = \(producer) AND waits_for = \(prerequisite) RETURNING id, envelope",
            logger: logger
        ).decode((Int64, Data).self).all().sorted { $0.0 < $1.0 }
        guard !rows.isEmpty else { return }
        guard let dispatch else {
            throw EventRejected("deferred events can only be resumed inside a consumer")
        }
        for (_, data) in rows {
            let parked = try EventEnvelope.decode(from: data)
            var logger = self.logger
            logger[metadataKey: "correlation_id"] = "\(parked.correlationId)"
            logger[metadataKey: "event_id"] = "\(parked.id)"
            logger[metadataKey: "event_type"] = "\(parked.type)"
            logger.info("deferred event resumed", metadata: ["waited_for": "\(prerequisite)"])
            let context = EventContext(
                envelope: parked, connection: connection, logger: logger, producer: producer, afterCommit: afterCommit,
                beforeCommit: beforeCommit, dispatch: dispatch)
            try await CorrelationScope.$id.withValue(parked.correlationId) {
                try await dispatch(parked, context)
            }
        }
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
        self.handle = { context in
            try await handle(context)
            if context.runsOwnEnd { try await context.beforeCommit.run(on: context.connection, logger: context.logger) }
        }
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

/// Work that handlers leave for the end of their transaction (see `EventContext.atTransactionEnd`).
public protocol TransactionEndWork: AnyObject, Sendable {
    /// Where this work runs among a transaction's end work, lowest first (ties in the order the
    /// handlers first asked for them). Work that locks rows takes its locks in this one order in
    /// every transaction, so two transactions cannot each hold what the other waits for.
    static var runOrder: Int { get }
    func run(on connection: PostgresConnection, logger: Logger) async throws
}

extension TransactionEndWork {
    public static var runOrder: Int { 0 }
}

/// The end-of-transaction work of one consumer transaction, one object per type.
final class BeforeCommit: Sendable {
    private let work = Mutex<[(ObjectIdentifier, any TransactionEndWork)]>([])

    func shared<Work: TransactionEndWork>(_ type: Work.Type, make: () -> Work) -> Work {
        work.withLock { list in
            if let existing = list.first(where: { $0.0 == ObjectIdentifier(type) })?.1 as? Work { return existing }
            let made = make()
            list.append((ObjectIdentifier(type), made))
            return made
        }
    }

    /// Runs the work, once, in `runOrder`: call inside the transaction, after the last handler.
    func run(on connection: PostgresConnection, logger: Logger) async throws {
        let due = work.withLock { list in
            defer { list = [] }
            return list
        }
        let ordered = due.enumerated().sorted { left, right in
            let (leftOrder, rightOrder) = (type(of: left.element.1).runOrder, type(of: right.element.1).runOrder)
            return leftOrder != rightOrder ? leftOrder < rightOrder : left.offset < right.offset
        }
        for (_, (_, work)) in ordered { try await work.run(on: connection, logger: logger) }
    }
}
