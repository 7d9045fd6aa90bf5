import Foundation
import Messaging
import Persistence
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A broker of this test's own, so freezing it disturbs no other test.
final class PrivateBroker: Sendable {
    let process: Process
    let brokers: String

    init() throws {
        let port = try TestEnvironment.reservePorts(1)[0]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestEnvironment.tansuBinary)
        process.arguments = [
            "broker", "--listener-url", "tcp://127.0.0.1:\(port)", "--advertised-listener-url", "tcp://127.0.0.1:\(port)",
            "--storage-engine", "memory://tansu/",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        self.brokers = "127.0.0.1:\(port)"
    }

    func freeze() { kill(process.processIdentifier, SIGSTOP) }
    func thaw() { kill(process.processIdentifier, SIGCONT) }

    /// SIGKILL: the broker keeps nothing worth a clean stop, and it may wait on idle clients.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

@Suite struct BrokerOutageTests {
    @Test func eventsCommittedWhileTheBrokerIsFrozenForTenSecondsAreAllDeliveredAfterwards() async throws {
        let broker = try PrivateBroker()
        defer { broker.stop() }
        let topic = try await createTopicWhenBrokerIsUp(brokers: broker.brokers)
        try await TestDatabase.withSchema(migrations: probeMigrations()) { database in
            let producer = try KafkaProducer(configuration: TestEnvironment.kafka(brokers: broker.brokers))
            var settings = OutboxRelay.Settings()
            settings.pollInterval = .milliseconds(500)
            let relay = OutboxRelay(client: database.client, schema: database.schema, producer: producer, settings: settings, logger: logger)
            var ids: [String] = []
            try await withServices([producer, relay]) {
                for index in 0..<20 { ids.append(try await database.append(topic: topic, aggregateId: "a\(index % 5)").id.uuidString) }
                let before = try await database.eventually { try await database.unpublishedCount() == 0 }
                #expect(before)

                broker.freeze()
                let frozenAt = ContinuousClock.now
                var index = 0
                do {
                    // At least 10 s, and at least 10 events, however slow a loaded machine writes.
                    while ContinuousClock.now - frozenAt < .seconds(10) || index < 10 {
                        ids.append(try await database.append(topic: topic, aggregateId: "a\(index % 5)").id.uuidString)
                        index += 1
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    // Nothing written during the outage got out, and nothing was lost either (below).
                    #expect(try await database.unpublishedCount() == index)
                } catch {
                    broker.thaw()
                    throw error
                }
                broker.thaw()
                let after = try await database.eventually(timeout: .seconds(90)) { try await database.unpublishedCount() == 0 }
                #expect(after)
            }
            // A relay that gave up waiting on the frozen broker sent some again: read until every id is seen.
            let expected = Set(ids.map { $0.lowercased() })
            let messages = try await TopicReader.read(topic, timeout: .seconds(30), brokers: broker.brokers) { messages in
                Set(messages.compactMap { $0.headers["event-id"] }).isSuperset(of: expected)
            }
            let published = Set(messages.compactMap { $0.headers["event-id"] })
            #expect(published == expected)
        }
    }

    private func createTopicWhenBrokerIsUp(brokers: String) async throws -> String {
        var lastError: (any Error)?
        for _ in 0..<50 {
            do {
                return try await TestEnvironment.makeTopics(["outage"], brokers: brokers)[0]
            } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        throw lastError!
    }
}
