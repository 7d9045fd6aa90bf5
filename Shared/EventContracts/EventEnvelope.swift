import Foundation

/// The one shape every domain event travels in, from outbox row to Kafka message to inbox.
public struct EventEnvelope: Codable, Sendable, Equatable {
    public var id: UUID
    /// Dotted name such as `order.paid`; consumers route on it.
    public var type: String
    public var schemaVersion: Int
    public var aggregateType: String
    public var aggregateId: String
    public var occurredAt: Date
    /// Carried unchanged from the HTTP request (or first event) through every event it causes.
    public var correlationId: String
    /// The id of the event (or request) that directly caused this one.
    public var causationId: String?
    public var producer: String
    public var payload: JSONValue

    public init(
        id: UUID = UUID(),
        type: String,
        schemaVersion: Int = 1,
        aggregateType: String,
        aggregateId: String,
        occurredAt: Date = Date(),
        correlationId: String,
        causationId: String? = nil,
        producer: String,
        payload: JSONValue
    ) {
        self.id = id
        self.type = type
        self.schemaVersion = schemaVersion
        self.aggregateType = aggregateType
        self.aggregateId = aggregateId
        self.occurredAt = occurredAt
        self.correlationId = correlationId
        self.causationId = causationId
        self.producer = producer
        self.payload = payload
    }

    /// Builds an envelope around a typed payload.
    public init<Payload: DomainEventPayload>(
        id: UUID = UUID(),
        payload: Payload,
        aggregateId: String,
        occurredAt: Date = Date(),
        correlationId: String,
        causationId: String? = nil,
        producer: String
    ) throws {
        self.init(
            id: id,
            type: Payload.eventType,
            schemaVersion: Payload.schemaVersion,
            aggregateType: Payload.aggregateType,
            aggregateId: aggregateId,
            occurredAt: occurredAt,
            correlationId: correlationId,
            causationId: causationId,
            producer: producer,
            payload: try JSONValue(encoding: payload)
        )
    }

    /// Decodes the payload as the given type.
    public func decodePayload<Payload: Decodable>(as type: Payload.Type = Payload.self) throws -> Payload {
        try payload.decode(as: type)
    }

    public func encoded() throws -> Data {
        try EventCoding.encoder.encode(self)
    }

    public static func decode(from data: Data) throws -> EventEnvelope {
        try EventCoding.decoder.decode(EventEnvelope.self, from: data)
    }
}

/// A payload type that names its own event type, schema version and aggregate type.
public protocol DomainEventPayload: Codable, Sendable {
    static var eventType: String { get }
    static var schemaVersion: Int { get }
    static var aggregateType: String { get }
}
