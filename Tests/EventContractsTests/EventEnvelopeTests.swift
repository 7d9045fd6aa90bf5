import EventContracts
import Foundation
import Testing

struct SamplePaid: DomainEventPayload, Equatable {
    static let eventType = "sample.paid"
    static let schemaVersion = 2
    static let aggregateType = "sample"
    var amount: Int64
    var currency: String
    var at: Date
}

@Suite struct EventEnvelopeTests {
    @Test func typedPayloadRoundTripsThroughTheWireFormat() throws {
        // The wire carries milliseconds; a value on a millisecond boundary survives exactly.
        let at = Date(timeIntervalSince1970: 1_700_000_000.5)
        let payload = SamplePaid(amount: 12_345, currency: "usd", at: at)
        let envelope = try EventEnvelope(
            payload: payload, aggregateId: "agg-1", occurredAt: at, correlationId: "req-1", causationId: "cause",
            producer: "tests")
        #expect(envelope.type == "sample.paid")
        #expect(envelope.schemaVersion == 2)
        #expect(envelope.aggregateType == "sample")

        let decoded = try EventEnvelope.decode(from: envelope.encoded())
        #expect(decoded == envelope)
        #expect(try decoded.decodePayload(as: SamplePaid.self) == payload)
    }

    @Test func datesKeepMillisecondPrecision() throws {
        let envelope = EventEnvelope(
            type: "x.y", aggregateType: "x", aggregateId: "1", occurredAt: Date(timeIntervalSince1970: 1_700_000_000.1234),
            correlationId: "c", producer: "p", payload: .null)
        let decoded = try EventEnvelope.decode(from: envelope.encoded())
        #expect(abs(decoded.occurredAt.timeIntervalSince(envelope.occurredAt)) < 0.001)
    }

    @Test func wireFormatUsesCamelCaseAndISODates() throws {
        let envelope = EventEnvelope(
            id: UUID(uuidString: "00000000-0000-0000-0000-000000000001")!, type: "x.y", aggregateType: "x",
            aggregateId: "1", occurredAt: Date(timeIntervalSince1970: 0), correlationId: "c", producer: "p",
            payload: .object(["big": .integer(9_007_199_254_740_993)]))
        let json = try #require(String(data: envelope.encoded(), encoding: .utf8))
        #expect(json.contains("\"occurredAt\":\"1970-01-01T00:00:00.000Z\""))
        #expect(json.contains("\"aggregateId\":\"1\""))
        #expect(json.contains("\"schemaVersion\":1"))
        // Integers survive exactly: money must never pass through a Double.
        #expect(json.contains("9007199254740993"))
    }

    @Test func malformedEnvelopeIsAnErrorNotACrash() {
        #expect(throws: (any Error).self) { try EventEnvelope.decode(from: Data("{\"id\":1}".utf8)) }
        #expect(throws: (any Error).self) { try EventEnvelope.decode(from: Data("not json".utf8)) }
    }

    @Test func deadLetterTopicIsTheSourceWithDlqSuffix() {
        #expect(Topic.deadLetter(of: Topic.orders) == "orders.events.dlq")
    }
}

@Suite struct JSONValueTests {
    @Test func everyKindOfJSONDecodesAsItself() throws {
        let json = #"{"id":"ord_1","amount":2599,"ratio":0.25,"whole":3.0,"paid":true,"note":null,"lines":[{"qty":1},"x",7],"empty":{},"none":[]}"#
        let value = try EventCoding.decoder.decode(JSONValue.self, from: Data(json.utf8))
        #expect(value["id"] == .string("ord_1"))
        #expect(value["amount"] == .integer(2599))
        #expect(value["ratio"] == .number(0.25))
        #expect(value["whole"] == .integer(3) || value["whole"] == .number(3))
        #expect(value["paid"] == .bool(true))
        #expect(value["note"] == .null)
        #expect(value["lines"] == .array([.object(["qty": .integer(1)]), .string("x"), .integer(7)]))
        #expect(value["empty"] == .object([:]))
        #expect(value["none"] == .array([]))
        // And back: the same JSON value again.
        let again = try EventCoding.decoder.decode(JSONValue.self, from: EventCoding.encoder.encode(value))
        #expect(again == value)
    }
}
