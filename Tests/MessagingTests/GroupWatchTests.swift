import EventContracts
import Foundation
import Logging
import Synchronization
import Testing
import TestSupport

@testable import Messaging

/// A consumer left with no partitions rejoins its group after a while, less and less often while
/// that changes nothing, and a consumer that has partitions never does; and the group goes on.
@Suite struct GroupWatchTests {
    @Test func aConsumerWithoutPartitionsRejoinsLessAndLessOften() {
        var watch = GroupWatch(patience: .seconds(60), longestPatience: .seconds(200))
        let start = ContinuousClock.now
        // Looked at every second: no partitions for 600 s, then 3 for 10 s, then none again.
        var rejoinedAt: [Int] = []
        for second in 0..<700 {
            let membership = Self.member(generation: 2, assigned: (600..<610).contains(second) ? 3 : 0)
            if watch.observe(membership, at: start + .seconds(second)) { rejoinedAt.append(second) }
        }
        // After 60 s, then 120 more, then 200 (the longest) and 200 again; with partitions again,
        // the patience and the time without them start over.
        #expect(rejoinedAt == [60, 180, 380, 580, 670])
    }

    /// A member still joining moves through member ids and generations: each change starts the
    /// wait over, and only a group standing still for the whole patience makes it rejoin.
    @Test func aConsumerStillJoiningIsNotStuck() {
        var watch = GroupWatch(patience: .seconds(30), longestPatience: .seconds(30))
        let start = ContinuousClock.now
        var rejoinedAt: [Int] = []
        for second in 0..<100 {
            // Joining with no member id for 20 s, then generations 1 and 2 for 20 s each, then
            // generation 2 for good.
            let membership = second < 20 ? Self.member(id: "", generation: -1, assigned: 0)
                : Self.member(generation: second < 40 ? 1 : 2, assigned: 0)
            if watch.observe(membership, at: start + .seconds(second)) { rejoinedAt.append(second) }
        }
        #expect(rejoinedAt == [70])
    }

    @Test func aConsumerWithPartitionsNeverRejoins() {
        var watch = GroupWatch(patience: .seconds(1), longestPatience: .seconds(1))
        let start = ContinuousClock.now
        var rejoins = 0
        for second in 0..<100 where watch.observe(Self.member(generation: 1, assigned: 1), at: start + .seconds(second)) { rejoins += 1 }
        #expect(rejoins == 0)
    }

    static func member(id: String = "member-1", generation: Int32, assigned: Int) -> KafkaConsumer.Membership {
        KafkaConsumer.Membership(memberId: id, generation: generation, assigned: assigned)
    }

    /// Two consumers of one group on a topic of one partition: the one without it rejoins once its
    /// patience runs out, and the group goes on applying events.
    @Test func theMemberWithoutAPartitionRejoinsAndTheGroupGoesOn() async throws {
        let topic = try await TestEnvironment.makeTopics(["idle"], partitions: 1)[0]
        try await TestDatabase.withSchema(migrations: probeMigrations()) { database in
            let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
            let relay = OutboxRelay(client: database.client, schema: database.schema, producer: producer, logger: logger)
            let record = EventHandler.on(ProbeRecorded.self) { event, context in
                try await context.connection.query(
                    "INSERT INTO handled (event_id, aggregate_id, version) VALUES (\(context.envelope.id), \(context.envelope.aggregateId), \(event.version))",
                    logger: context.logger)
            }
            var settings = EventConsumer.Settings()
            settings.groupPatience = .seconds(4)
            settings.groupCheckInterval = .milliseconds(250)
            let warnings = Warnings()
            let group = TestEnvironment.uniqueName("idle")
            let members = (0..<2).map { _ in
                EventConsumer(
                    name: group, topics: [topic], handlers: [record], client: database.client, kafka: TestEnvironment.kafka(),
                    deadLetters: producer, settings: settings, logger: Logger(label: "idle") { _ in WarningCapture(warnings: warnings) })
            }
            try await withServices([producer, relay] + members) {
                try await database.append(topic: topic, version: 1)
                #expect(try await database.eventually { try await database.handledCount() == 1 })
                #expect(try await database.eventually(timeout: .seconds(30)) {
                    warnings.messages.contains { $0.contains("held no partitions") && $0.contains("rejoining its group") }
                }, "\(warnings.messages)")
                try await database.append(topic: topic, version: 2)
                #expect(try await database.eventually { try await database.handledCount() == 2 })
            }
        }
    }
}

/// The warnings the consumers log.
final class Warnings: Sendable {
    private let logged = Mutex<[String]>([])
    func add(_ message: String) { logged.withLock { $0.append(message) } }
    var messages: [String] { logged.withLock { $0 } }
}

struct WarningCapture: LogHandler {
    let warnings: Warnings
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        if event.level >= .warning { warnings.add("\(event.message)") }
    }
}
