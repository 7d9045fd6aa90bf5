import EventContracts
import Foundation
import Messaging
import Persistence
import PostgresNIO
import Testing
import TestSupport

@Suite struct OutboxToInboxTests {
    @Test func anEventIsHandledExactlyOnceInAnotherProcessEvenWhenTheRelayDiesBeforeMarking() async throws {
        let topic = try await TestEnvironment.makeTopics(["exactly-once"])[0]
        try await TestDatabase.withSchema(prefix: "producer", migrations: probeMigrations()) { producerDB in
            try await TestDatabase.withSchema(prefix: "consumer", migrations: probeMigrations()) { consumerDB in
                var ids: Set<UUID> = []
                for index in 0..<20 {
                    ids.insert(try await producerDB.append(topic: topic, aggregateId: "agg-\(index % 4)").id)
                }

                // The relay publishes, the broker acknowledges, and the process dies before marking.
                var crashing = ProbeProcess.environment(mode: "relay", database: producerDB)
                crashing["PROBE_CRASH_AFTER_DELIVERY"] = "1"
                #expect(try await ProbeProcess(crashing).waitForExit() == 3)
                #expect(try await producerDB.unpublishedCount() == 20)

                var consumeEnv = ProbeProcess.environment(mode: "consume", database: consumerDB)
                consumeEnv["PROBE_TOPIC"] = topic
                consumeEnv["PROBE_GROUP"] = TestEnvironment.uniqueName("probe")
                let consumer = try ProbeProcess(consumeEnv)
                // A healthy relay takes over and publishes everything again.
                let relay = try ProbeProcess(ProbeProcess.environment(mode: "relay", database: producerDB))
                let allPublished = try await producerDB.eventually { try await producerDB.unpublishedCount() == 0 }
                #expect(allPublished)
                let allHandled = try await consumerDB.eventually { try await consumerDB.handledCount() >= 20 }
                #expect(allHandled)
                // Give a late duplicate time to be (wrongly) applied before counting.
                try await Task.sleep(for: .seconds(1))
                _ = try await relay.stop()
                _ = try await consumer.stop()

                #expect(try await consumerDB.handledCount() == 20)
                let handled = try await consumerDB.client.query("SELECT event_id FROM handled", logger: logger)
                    .decode(UUID.self).all()
                #expect(Set(handled) == ids)
                #expect(try await consumerDB.count("SELECT count(*) FROM inbox") == 20)
                // The broker really carried every event twice: the inbox absorbed the duplicates.
                let onTopic = try await TopicReader.read(topic, until: 40)
                #expect(onTopic.count == 40)
                #expect(Set(onTopic.compactMap { $0.headers[EventHeader.eventId] }) == Set(ids.map { $0.uuidString.lowercased() }))
            }
        }
    }

    @Test func aRolledBackTransactionPublishesNothing() async throws {
        let topic = try await TestEnvironment.makeTopics(["rollback"])[0]
        try await TestDatabase.withSchema(migrations: probeMigrations()) { database in
            let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
            let relay = OutboxRelay(client: database.client, schema: database.schema, producer: producer, logger: logger)
            struct Abort: Error {}
            let rolledBack = try EventEnvelope(
                payload: ProbeRecorded(version: 1), aggregateId: "same", correlationId: "c", producer: "tests")
            await #expect(throws: Abort.self) {
                try await database.client.inTransaction(logger: logger) { connection in
                    try await Outbox.append(rolledBack, topic: topic, on: connection, logger: logger)
                    throw Abort()
                }
            }
            #expect(try await database.count("SELECT count(*) FROM outbox") == 0)
            // A later event of the same aggregate lands on the same partition after where the
            // rolled-back one would have been: once it is read, the other can no longer appear.
            let committed = try await database.append(topic: topic, aggregateId: "same", version: 2)
            try await withServices([producer, relay]) {
                let published = try await database.eventually { try await database.unpublishedCount() == 0 }
                #expect(published)
            }
            let messages = try await TopicReader.read(topic, until: 1)
            try await Task.sleep(for: .milliseconds(500))
            let again = try await TopicReader.read(topic, until: 2, timeout: .seconds(8))
            #expect(messages.map { $0.headers[EventHeader.eventId] } == [committed.id.uuidString.lowercased()])
            #expect(again.count == 1)
        }
    }

    @Test func perAggregateOrderHoldsForAThousandEventsFromConcurrentWriters() async throws {
        let topic = try await TestEnvironment.makeTopics(["ordering"])[0]
        try await TestDatabase.withSchema(migrations: probeMigrations()) { database in
            let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
            let relay = OutboxRelay(client: database.client, schema: database.schema, producer: producer, logger: logger)
            let record = EventHandler.on(ProbeRecorded.self) { event, context in
                try await context.connection.query(
                    """
                    INSERT INTO handled (event_id, aggregate_id, version)
                    VALUES (\(context.envelope.id), \(context.envelope.aggregateId), \(event.version))
                    """, logger: context.logger)
            }
            let consumer = EventConsumer(
                name: TestEnvironment.uniqueName("order"), topics: [topic], handlers: [record], client: database.client,
                kafka: TestEnvironment.kafka(), deadLetters: producer, logger: logger)

            try await withServices([producer, relay, consumer]) {
                // 8 writers, each touching every aggregate, so writes to one aggregate interleave.
                // Half of them write two aggregates per transaction, appended in one statement.
                try await withThrowingTaskGroup(of: Void.self) { writers in
                    for writer in 0..<8 {
                        writers.addTask {
                            let aggregates = (0..<125).map { step in "agg-\((writer * 13 + step) % 100)" }
                            if writer < 4 {
                                for aggregate in aggregates { try await database.appendVersioned(topic: topic, aggregateId: aggregate) }
                            } else {
                                for start in stride(from: 0, to: aggregates.count, by: 2) {
                                    try await database.appendVersioned(
                                        topic: topic, aggregateIds: Array(aggregates[start..<min(start + 2, aggregates.count)]))
                                }
                            }
                        }
                    }
                    try await writers.waitForAll()
                }
                let done = try await database.eventually(timeout: .seconds(120)) { try await database.handledCount() >= 1000 }
                #expect(done)
            }

            #expect(try await database.handledCount() == 1000)
            let rows = try await database.client.query(
                "SELECT aggregate_id, version FROM handled ORDER BY seq", logger: logger
            ).decode((String, Int).self).all()
            var last: [String: Int] = [:]
            var inversions = 0
            for (aggregate, version) in rows {
                if version != (last[aggregate] ?? 0) + 1 { inversions += 1 }
                last[aggregate] = version
            }
            #expect(inversions == 0)
            #expect(last.count == 100)
            #expect(last.values.reduce(0, +) == 1000)
        }
    }

    @Test func twoRelaysOnOneSchemaPublishEachRowOnce() async throws {
        let topic = try await TestEnvironment.makeTopics(["two-relays"])[0]
        try await TestDatabase.withSchema(migrations: probeMigrations()) { database in
            let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
            var settings = OutboxRelay.Settings()
            settings.batchSize = 7
            let relays = (0..<2).map { _ in
                OutboxRelay(client: database.client, schema: database.schema, producer: producer, settings: settings, logger: logger)
            }
            try await withServices([producer] + relays) {
                for index in 0..<200 { try await database.append(topic: topic, aggregateId: "a\(index % 10)") }
                let done = try await database.eventually { try await database.unpublishedCount() == 0 }
                #expect(done)
            }
            let messages = try await TopicReader.read(topic, until: 201, timeout: .seconds(12))
            #expect(messages.count == 200)
            #expect(Set(messages.compactMap { $0.headers[EventHeader.eventId] }).count == 200)
        }
    }
}
