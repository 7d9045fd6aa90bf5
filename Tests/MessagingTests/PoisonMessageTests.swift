import EventContracts
import Foundation
import Messaging
import Metrics
import Persistence
import PostgresNIO
import Synchronization
import Testing
import TestSupport

@Suite struct PoisonMessageTests {
    @Test func poisonMessagesLandInTheDeadLetterTopicAndTheOnesAfterThemAreProcessed() async throws {
        let topic = try await TestEnvironment.makeTopics(["poison"], partitions: 1)[0]
        try await TestDatabase.withSchema(migrations: probeMigrations()) { database in
            let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
            let relay = OutboxRelay(client: database.client, schema: database.schema, producer: producer, logger: logger)
            // What handlers ask to run after commit runs once per committed event, never for one rolled back.
            let committed = Mutex<[UUID]>([])
            let record = EventHandler.on(ProbeRecorded.self) { event, context in
                let id = context.envelope.id
                context.onCommit { committed.withLock { $0.append(id) } }
                if event.poison { throw EventRejected("probe marked as poison") }
                try await context.connection.query(
                    "INSERT INTO handled (event_id, aggregate_id) VALUES (\(context.envelope.id), \(context.envelope.aggregateId))",
                    logger: context.logger)
            }
            var settings = EventConsumer.Settings()
            settings.maximumAttempts = 3
            settings.initialBackoff = .milliseconds(20)
            let consumer = EventConsumer(
                name: TestEnvironment.uniqueName("poison"), topics: [topic], handlers: [record], client: database.client,
                kafka: TestEnvironment.kafka(), deadLetters: producer, settings: settings, logger: logger)

            // Bytes that are not an envelope at all, straight onto the topic.
            let garbage = await producer.send([OutgoingMessage(topic: topic, key: "k", value: Array("{not json".utf8))])
            #expect(throws: Never.self) { try garbage[0].get() }
            let before = try await database.append(topic: topic, aggregateId: "k")
            let poison = try await database.append(topic: topic, aggregateId: "k", poison: true)
            var after: [UUID] = []
            for _ in 0..<5 { after.append(try await database.append(topic: topic, aggregateId: "k").id) }

            try await withServices([producer, relay, consumer]) {
                let done = try await database.eventually { try await database.handledCount() == 6 }
                #expect(done)
            }
            let handled = try await database.client.query("SELECT event_id FROM handled ORDER BY seq", logger: logger)
                .decode(UUID.self).all()
            #expect(handled == [before.id] + after)
            #expect(committed.withLock { $0 } == handled)
            // The poison event failed every attempt and was not recorded as handled.
            #expect(try await database.count("SELECT count(*) FROM inbox WHERE event_id = \(poison.id)") == 0)

            let parked = try await TopicReader.read(Topic.deadLetter(of: topic), until: 2)
            #expect(parked.count == 2)
            #expect(parked.map { String(decoding: $0.value, as: UTF8.self) }.first == "{not json")
            #expect(parked.last?.headers[EventHeader.eventId] == poison.id.uuidString.lowercased())
            #expect(parked.allSatisfy { $0.headers[EventHeader.dlqError]?.isEmpty == false })
            #expect(parked.allSatisfy { $0.headers[EventHeader.dlqSource]?.hasPrefix(topic) == true })
        }
    }

    @Test func unknownTypesAreSkippedButANewerSchemaVersionHoldsItsPartitionUntilAnUpgrade() async throws {
        let topic = try await TestEnvironment.makeTopics(["skips"], partitions: 1)[0]
        try await TestDatabase.withSchema(migrations: probeMigrations()) { database in
            let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
            let relay = OutboxRelay(client: database.client, schema: database.schema, producer: producer, logger: logger)
            let record = EventHandler.on(ProbeRecorded.self) { _, context in
                try await context.connection.query(
                    "INSERT INTO handled (event_id, aggregate_id) VALUES (\(context.envelope.id), \(context.envelope.aggregateId))",
                    logger: context.logger)
            }
            let first = try await database.append(topic: topic, aggregateId: "k")
            for envelope in [
                EventEnvelope(type: "probe.unknown", aggregateType: "probe", aggregateId: "k", correlationId: "c", producer: "t", payload: .object([:])),
                EventEnvelope(
                    type: ProbeRecorded.eventType, schemaVersion: 2, aggregateType: "probe", aggregateId: "k", correlationId: "c",
                    producer: "t", payload: try JSONValue(encoding: ProbeRecorded(version: 2))),
            ] {
                try await database.client.inTransaction(logger: logger) {
                    try await Outbox.append(envelope, topic: topic, on: $0, logger: logger)
                }
            }
            let last = try await database.append(topic: topic, aggregateId: "k")
            let group = TestEnvironment.uniqueName("skips")
            var settings = EventConsumer.Settings()
            settings.maximumBackoff = .milliseconds(300)
            let monitor = ConsumerMonitor(factory: NOOPMetricsHandler.instance)
            let oldBuild = EventConsumer(
                name: group, topics: [topic], handlers: [record], client: database.client, kafka: TestEnvironment.kafka(),
                deadLetters: producer, settings: settings, logger: logger, monitor: monitor)
            try await withServices([producer, relay, oldBuild]) {
                let first = try await database.eventually { try await database.handledCount() == 1 }
                #expect(first)
                // The v2 event is neither skipped nor dead-lettered: nothing behind it is applied.
                let held = try await database.eventually { (monitor.held().first?.attempts ?? 0) >= 3 }
                #expect(held)
                #expect(monitor.held().map(\.kind) == ["unsupported_version"])
                let handled = try await database.handledCount()
                #expect(handled == 1)
            }
            #expect(try await database.count("SELECT count(*) FROM handled WHERE event_id = \(first.id)") == 1)

            // The upgraded build reads v2: the partition moves on, in order, from where it stopped.
            var upgraded = record
            upgraded.maximumSchemaVersion = 2
            let newBuild = EventConsumer(
                name: group, topics: [topic], handlers: [upgraded], client: database.client, kafka: TestEnvironment.kafka(),
                deadLetters: producer, settings: settings, logger: logger)
            try await withServices([producer, newBuild]) {
                let all = try await database.eventually { try await database.handledCount() == 3 }
                #expect(all)
            }
            let handled = try await database.client.query("SELECT event_id FROM handled ORDER BY seq", logger: logger)
                .decode(UUID.self).all()
            #expect(handled.first == first.id)
            #expect(handled.last == last.id)
            let parked = try await TopicReader.read(Topic.deadLetter(of: topic), until: 1, timeout: .seconds(5))
            #expect(parked.isEmpty)
        }
    }
}
