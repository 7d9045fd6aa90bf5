import EventContracts
import Foundation
import Messaging
import Persistence
import PostgresNIO
import Testing
import TestSupport

@testable import Messaging

@Suite struct RelayLeadershipTests {
    /// A database restart or failover ends the relay's session and with it the lock: the relay
    /// notices within seconds, takes the lock again and publishes what was written meanwhile.
    @Test func aRelayWhoseConnectionIsKilledTakesTheLockAgainAndKeepsPublishing() async throws {
        let topic = try await TestEnvironment.makeTopics(["lease"], partitions: 1)[0]
        try await TestDatabase.withSchema(migrations: probeMigrations()) { database in
            let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
            var settings = OutboxRelay.Settings()
            settings.leaseCheckInterval = .milliseconds(300)
            settings.standbyInterval = .milliseconds(300)
            let status = RelayStatus()
            let relay = OutboxRelay(
                client: database.client, schema: database.schema, producer: producer, settings: settings, logger: logger,
                status: status)
            try await withServices([producer, relay]) {
                try await database.append(topic: topic, aggregateId: "a")
                let published = try await database.eventually(timeout: .seconds(20)) { try await database.unpublishedCount() == 0 }
                #expect(published)
                #expect(status.isActive)

                let killed = try await terminateRelaySession(schema: database.schema)
                #expect(killed == 1)
                for _ in 0..<3 { try await database.append(topic: topic, aggregateId: "a") }
                let republished = try await database.eventually(timeout: .seconds(15)) { try await database.unpublishedCount() == 0 }
                #expect(republished)
                let leadsAgain = try await database.eventually(timeout: .seconds(5)) { status.isActive }
                #expect(leadsAgain)
            }
            #expect(!status.isActive)
            let onTopic = try await TopicReader.read(topic, until: 4)
            #expect(onTopic.count == 4)
        }
    }

    @Test func onlyTheRowsBeforeTheFirstFailedDeliveryAreMarked() {
        let failure = KafkaError(code: 1, message: "x", isRetriable: true)
        let results: [Result<Void, KafkaError>] = [.success(()), .success(()), .failure(failure), .success(())]
        #expect(OutboxRelay.markable([10, 11, 12, 13], results: results) == [10, 11])
        #expect(OutboxRelay.markable([10, 11], results: [.success(()), .success(())]) == [10, 11])
        #expect(OutboxRelay.markable([10, 11], results: [.failure(failure), .success(())]).isEmpty)
    }

    /// Ends the session holding the schema's relay lock, as a database restart would.
    private func terminateRelaySession(schema: String) async throws -> Int {
        var count = 0
        try await TestDatabase.admin { connection in
            count = try await connection.query(
                """
                SELECT pg_terminate_backend(pid) FROM pg_locks
                WHERE locktype = 'advisory' AND classid = \(AdvisoryLock.outboxRelay)::oid AND objid = hashtext(\(schema))::oid
                """, logger: logger
            ).decode(Bool.self).all().filter { $0 }.count
        }
        return count
    }
}
