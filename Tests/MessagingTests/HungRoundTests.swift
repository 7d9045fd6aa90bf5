import EventContracts
import Foundation
import Messaging
import Persistence
import PostgresNIO
import Testing
import TestSupport

/// A query in flight on a connection whose server went away never answers. The consumer must
/// not wait on such a round for ever: it abandons it, retries, and still stops on SIGTERM.
@Suite struct HungRoundTests {
    @Test func aRoundThatDoesNotAnswerIsAbandonedRetriedAndAppliedOnce() async throws {
        let topic = try await TestEnvironment.makeTopics(["hung"], partitions: 1)[0]
        try await TestDatabase.withSchema(migrations: probeMigrations()) { database in
            let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
            let relay = OutboxRelay(client: database.client, schema: database.schema, producer: producer, logger: logger)
            let calls = SharedCounter()
            let record = EventHandler.on(ProbeRecorded.self) { _, context in
                calls.add()
                // The first attempt hangs well past the round's timeout (it ends, late, as a slow
                // transaction would); the retry waits for it and finds the event already applied.
                if calls.current == 1 { try await Task.sleep(for: .seconds(3)) }
                try await context.connection.query(
                    "INSERT INTO handled (event_id, aggregate_id) VALUES (\(context.envelope.id), \(context.envelope.aggregateId))",
                    logger: context.logger)
            }
            var settings = EventConsumer.Settings()
            settings.roundTimeout = .seconds(1)
            settings.initialBackoff = .milliseconds(50)
            let consumer = EventConsumer(
                name: TestEnvironment.uniqueName("hung"), topics: [topic], handlers: [record], client: database.client,
                kafka: TestEnvironment.kafka(), deadLetters: producer, settings: settings, logger: logger)
            let first = try await database.append(topic: topic, aggregateId: "a")
            let second = try await database.append(topic: topic, aggregateId: "a")
            try await withServices([producer, relay, consumer]) {
                let both = try await database.eventually(timeout: .seconds(40)) { try await database.handledCount() == 2 }
                #expect(both)
            }
            let handled = try await database.client.query("SELECT event_id FROM handled ORDER BY seq", logger: logger)
                .decode(UUID.self).all()
            #expect(handled == [first.id, second.id])
            #expect(calls.current >= 2)
        }
    }

    @Test func aConsumerStuckInARoundStopsSoonAfterSIGTERM() async throws {
        let topic = try await TestEnvironment.makeTopics(["stuck"], partitions: 1)[0]
        try await TestDatabase.withSchema(migrations: probeMigrations()) { database in
            let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
            let relay = OutboxRelay(client: database.client, schema: database.schema, producer: producer, logger: logger)
            let started = SharedCounter()
            let record = EventHandler.on(ProbeRecorded.self) { _, _ in
                started.add()
                // Hangs far longer than anyone waits for a stop (and ends only so the test can clean up).
                try? await Task.sleep(for: .seconds(15))
            }
            var settings = EventConsumer.Settings()
            settings.roundTimeout = .seconds(60)
            settings.shutdownGrace = .seconds(1)
            let consumer = EventConsumer(
                name: TestEnvironment.uniqueName("stuck"), topics: [topic], handlers: [record], client: database.client,
                kafka: TestEnvironment.kafka(), deadLetters: producer, settings: settings, logger: logger)
            try await database.append(topic: topic, aggregateId: "a")
            var stopping = ContinuousClock.now
            try await withServices([producer, relay, consumer]) {
                let inRound = try await database.eventually(timeout: .seconds(40)) { started.current > 0 }
                #expect(inRound)
                stopping = ContinuousClock.now
            }
            #expect(ContinuousClock.now - stopping < .seconds(8))
            #expect(try await database.handledCount() == 0)
        }
    }
}
