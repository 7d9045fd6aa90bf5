import EventContracts
import Foundation
import Persistence
import PostgresNIO
import Testing
import TestSupport

@testable import Messaging

@Suite struct InboxClaimTests {
    private func event(_ offset: Int64, _ envelope: EventEnvelope) -> (ConsumedMessage, EventEnvelope) {
        (ConsumedMessage(topic: "t", partition: 2, offset: offset, key: nil, value: [], headers: [:]), envelope)
    }

    private func envelope() throws -> EventEnvelope {
        try EventEnvelope(payload: ProbeRecorded(version: 1), aggregateId: "a", correlationId: "c", producer: "tests")
    }

    /// A batch's inbox rows go in in one statement: each event is claimed once, by its first copy,
    /// and an event handled in an earlier batch is not claimed again.
    @Test func aBatchClaimsEachEventOnceByItsFirstCopy() async throws {
        try await TestDatabase.withSchema(migrations: probeMigrations()) { database in
            let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
            defer { producer.shutdown(flushTimeout: .zero) }
            let consumer = EventConsumer(
                name: "claims", topics: ["t"], handlers: [], client: database.client, kafka: TestEnvironment.kafka(),
                deadLetters: producer, logger: logger)
            let (a, b, c) = (try envelope(), try envelope(), try envelope())

            let first = try await database.client.inTransaction(logger: logger) { connection in
                try await consumer.claim([event(10, a), event(11, b), event(12, a)], on: connection)
            }
            #expect(first == [a.id, b.id])
            let second = try await database.client.inTransaction(logger: logger) { connection in
                try await consumer.claim([event(13, a), event(14, c)], on: connection)
            }
            #expect(second == [c.id])

            let rows = try await database.client.query(
                "SELECT event_id, kafka_offset, kafka_partition, consumer, event_type FROM inbox ORDER BY kafka_offset",
                logger: logger
            ).decode((UUID, Int64, Int32, String, String).self).all()
            #expect(rows.map(\.0) == [a.id, b.id, c.id])
            #expect(rows.map(\.1) == [10, 11, 14])
            #expect(rows.allSatisfy { $0.2 == 2 && $0.3 == "claims" && $0.4 == ProbeRecorded.eventType })
        }
    }
}
