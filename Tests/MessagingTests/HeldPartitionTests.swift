import EventContracts
import Foundation
import Messaging
import Persistence
import PostgresNIO
import Testing
import TestSupport

@Suite struct HeldPartitionTests {
    /// A failure that is not poison is retried past every attempt limit and never dead-lettered;
    /// only its own partition waits, and it resumes in order once the cause is gone.
    @Test func aFailingEventHoldsOnlyItsPartitionAndIsAppliedInOrderOnceItSucceeds() async throws {
        let topic = try await TestEnvironment.makeTopics(["held"], partitions: 2)[0]
        try await TestDatabase.withSchema(migrations: probeMigrations()) { database in
            let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
            let relay = OutboxRelay(client: database.client, schema: database.schema, producer: producer, logger: logger)
            let failing = SharedCounter(1)
            let attempts = SharedCounter()
            let record = EventHandler.on(ProbeRecorded.self) { event, context in
                if event.version == 99 {
                    attempts.add()
                    // Not poison: the database was away, say, or a peer had not caught up.
                    if failing.current == 1 { throw PersistenceError(code: "away", message: "try later", isRetriable: true) }
                }
                try await context.connection.query(
                    """
                    INSERT INTO handled (event_id, aggregate_id, version)
                    VALUES (\(context.envelope.id), \(context.envelope.aggregateId), \(event.version))
                    """, logger: context.logger)
            }
            var settings = EventConsumer.Settings()
            settings.maximumAttempts = 3
            settings.initialBackoff = .milliseconds(20)
            settings.maximumBackoff = .milliseconds(200)
            let consumer = EventConsumer(
                name: TestEnvironment.uniqueName("held"), topics: [topic], handlers: [record], client: database.client,
                kafka: TestEnvironment.kafka(), deadLetters: producer, settings: settings, logger: logger)
            let keys = (0..<12).map { "agg-\($0)" }

            try await withServices([producer, relay, consumer]) {
                for key in keys { try await database.append(topic: topic, aggregateId: key, version: 1) }
                let reached1 = try await database.eventually { try await database.handledCount() == keys.count }
                #expect(reached1)
                let partitionOf = Dictionary(uniqueKeysWithValues: try await database.client.query(
                    "SELECT h.aggregate_id, i.kafka_partition FROM handled h JOIN inbox i ON i.event_id = h.event_id",
                    logger: logger
                ).decode((String, Int32).self).all().map { ($0.0, $0.1) })
                let stuckPartition = partitionOf["agg-0"]!
                let freeKeys = keys.filter { partitionOf[$0] != stuckPartition }
                let heldKeys = keys.filter { partitionOf[$0] == stuckPartition }
                try #require(!freeKeys.isEmpty, "the keys must spread over both partitions")

                try await database.append(topic: topic, aggregateId: "agg-0", version: 99)
                for key in keys { try await database.append(topic: topic, aggregateId: key, version: 2) }
                // The other partition flows; the held one applies nothing behind the failure.
                let reached2 = try await database.eventually { try await database.handledCount() == keys.count + freeKeys.count }
                #expect(reached2)
                let reached3 = try await database.eventually { attempts.current > settings.maximumAttempts + 2 }
                #expect(reached3)
                let appliedBehind = try await database.count("SELECT count(*) FROM handled WHERE version = 2")
                #expect(appliedBehind == freeKeys.count)

                failing.set(0)
                let reached4 = try await database.eventually { try await database.handledCount() == 2 * keys.count + 1 }
                #expect(reached4)
                for key in heldKeys {
                    let versions = try await database.client.query(
                        "SELECT version FROM handled WHERE aggregate_id = \(key) ORDER BY seq", logger: logger
                    ).decode(Int.self).all()
                    #expect(versions == (key == "agg-0" ? [1, 99, 2] : [1, 2]))
                }
            }
            let parked = try await TopicReader.read(Topic.deadLetter(of: topic), until: 1, timeout: .seconds(5))
            #expect(parked.isEmpty)
        }
    }
}

/// An event type the tests' consumers have no handler for: another service's event on the topic.
private struct ProbeNoted: DomainEventPayload {
    static let eventType = "probe.noted"
    static let schemaVersion = 1
    static let aggregateType = "probe"
    var note: String
}

extension HeldPartitionTests {
    /// Events for other services are passed over by their type header, but in their place: behind
    /// a held event they are not marked either. A new member of the group (the first stopped while
    /// the event was held) reads the held event again and applies it, then the one behind the
    /// others' events, in order; had any offset been committed past the failure, it would not.
    @Test func othersEventsBehindAHeldEventAreNotMarkedPastIt() async throws {
        let topic = try await TestEnvironment.makeTopics(["others"], partitions: 1)[0]
        try await TestDatabase.withSchema(migrations: probeMigrations()) { database in
            let failing = SharedCounter(1)
            let attempts = SharedCounter()
            let record = EventHandler.on(ProbeRecorded.self) { event, context in
                if event.version == 99 {
                    attempts.add()
                    if failing.current == 1 { throw PersistenceError(code: "away", message: "try later", isRetriable: true) }
                }
                try await context.connection.query(
                    """
                    INSERT INTO handled (event_id, aggregate_id, version)
                    VALUES (\(context.envelope.id), \(context.envelope.aggregateId), \(event.version))
                    """, logger: context.logger)
            }
            var settings = EventConsumer.Settings()
            settings.initialBackoff = .milliseconds(20)
            settings.maximumBackoff = .milliseconds(200)
            let group = TestEnvironment.uniqueName("others")
            func member(deadLetters: KafkaProducer) -> EventConsumer {
                EventConsumer(
                    name: group, topics: [topic], handlers: [record], client: database.client, kafka: TestEnvironment.kafka(),
                    deadLetters: deadLetters, settings: settings, logger: logger)
            }

            let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
            let relay = OutboxRelay(client: database.client, schema: database.schema, producer: producer, logger: logger)
            try await withServices([producer, relay, member(deadLetters: producer)]) {
                try await database.append(topic: topic, aggregateId: "a", version: 1)
                try await database.append(topic: topic, aggregateId: "a", version: 99)
                for index in 0..<5 {
                    let envelope = try EventEnvelope(
                        payload: ProbeNoted(note: "n\(index)"), aggregateId: "b", correlationId: "others-test",
                        producer: "tests")
                    try await database.client.inTransaction(logger: logger) { connection in
                        try await Outbox.append(envelope, topic: topic, on: connection, logger: logger)
                    }
                }
                try await database.append(topic: topic, aggregateId: "a", version: 2)
                let published = try await database.eventually { try await database.unpublishedCount() == 0 }
                #expect(published)
                let retried = try await database.eventually { attempts.current >= 3 }
                #expect(retried)
                #expect(try await database.handledCount() == 1)
            }

            failing.set(0)
            let deadLetters = try KafkaProducer(configuration: TestEnvironment.kafka())
            try await withServices([deadLetters, member(deadLetters: deadLetters)]) {
                let applied = try await database.eventually { try await database.handledCount() == 3 }
                #expect(applied)
                let versions = try await database.client.query(
                    "SELECT version FROM handled ORDER BY seq", logger: logger
                ).decode(Int.self).all()
                #expect(versions == [1, 99, 2])
            }
        }
    }
}
