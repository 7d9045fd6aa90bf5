import EventContracts
import Foundation
import Logging
import Messaging
import Persistence
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TestSupport

/// `scripts/bench events [--rate N] [--seconds S] [--writers W]`: sustained events/s through
/// outbox → broker → inbox and commit-to-handled latency, printed as a table and as JSON.
/// Rate 0 means as fast as the writers can go.
@main
struct EventBench {
    struct Options {
        var rate = 1000
        var seconds = 10
        var writers = 4
        var aggregates = 100

        init(_ arguments: [String]) throws {
            var iterator = arguments.makeIterator()
            let known = ["--rate", "--seconds", "--writers", "--aggregates"]
            while let flag = iterator.next() {
                guard known.contains(flag) else {
                    throw BenchError("unknown option \(flag); use \(known.joined(separator: ", "))")
                }
                guard let text = iterator.next(), let value = Int(text), (0...1_000_000).contains(value) else {
                    throw BenchError("\(flag) needs a whole number 0...1000000")
                }
                switch flag {
                case "--rate": rate = value
                case "--seconds": seconds = max(1, value)
                case "--writers": writers = max(1, value)
                default: aggregates = max(1, value)
                }
            }
        }
    }

    struct BenchError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    struct Report: Encodable {
        var targetRate: Int
        var seconds: Int
        var writers: Int
        var committed: Int
        var handled: Int
        var eventsPerSecond: Double
        var latencyMs: [String: Double]
        /// Outbox insert to broker acknowledgement, from the rows' timestamps (relay's share).
        var relayLagMs: [String: Double]
    }

    static func main() async throws {
        let options: Options
        do {
            options = try Options(Array(CommandLine.arguments.dropFirst()))
        } catch {
            // A usage mistake: say so, without a crash report.
            FileHandle.standardError.write(Data("EventBench: \(error)\n".utf8))
            exit(2)
        }
        let topic = try await TestEnvironment.makeTopics(["bench"])[0]
        let recorder = Recorder()
        let report = try await TestDatabase.withSchema(prefix: "bench") { database -> Report in
            try await run(database: database, topic: topic, options: options, recorder: recorder)
        }
        print("outbox → broker → inbox")
        print(String(repeating: "-", count: 72))
        print("target/s  writers  committed  handled  events/s   p50 ms   p90 ms   p99 ms   max ms")
        print(
            String(
                format: "%8d  %7d  %9d  %7d  %8.0f  %7.2f  %7.2f  %7.2f  %7.2f", report.targetRate, report.writers,
                report.committed, report.handled, report.eventsPerSecond, report.latencyMs["p50"]!,
                report.latencyMs["p90"]!, report.latencyMs["p99"]!, report.latencyMs["max"]!))
        if let relay = report.relayLagMs["p50"], let relay99 = report.relayLagMs["p99"] {
            print(String(format: "relay share (outbox insert → broker ack): p50 %.2f ms, p99 %.2f ms", relay, relay99))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }

    static func run(database: TestDatabase, topic: String, options: Options, recorder: Recorder) async throws -> Report {
        let logger = TestEnvironment.logger
        let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
        let relay = OutboxRelay(client: database.client, schema: database.schema, producer: producer, logger: logger)
        let handler = EventHandler(eventType: "bench.tick") { context in
            recorder.handled(context.envelope.id)
        }
        let consumer = EventConsumer(
            name: TestEnvironment.uniqueName("bench"), topics: [topic], handlers: [handler], client: database.client,
            kafka: TestEnvironment.kafka(), deadLetters: producer, logger: logger)
        let services: [any Service] = [producer, relay, consumer]
        let group = ServiceGroup(
            configuration: .init(services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }, logger: logger))
        async let running: Void = group.run()

        // Warm up: wait until the consumer group has joined and one event went through.
        try await write(database: database, topic: topic, aggregate: "warmup", recorder: recorder)
        while recorder.count == 0 { try await Task.sleep(for: .milliseconds(50)) }
        recorder.reset()

        let start = ContinuousClock.now
        let end = start + .seconds(options.seconds)
        let interval: Duration? = options.rate > 0 ? .seconds(Double(options.writers) / Double(options.rate)) : nil
        let committed = try await withThrowingTaskGroup(of: Int.self) { writers in
            for writer in 0..<options.writers {
                writers.addTask {
                    var count = 0
                    var next = start
                    while ContinuousClock.now < end {
                        let aggregate = "agg-\((writer + count * options.writers) % options.aggregates)"
                        try await write(database: database, topic: topic, aggregate: aggregate, recorder: recorder)
                        count += 1
                        if let interval {
                            next += interval
                            if next > ContinuousClock.now { try await Task.sleep(until: next) }
                        }
                    }
                    return count
                }
            }
            return try await writers.reduce(0, +)
        }
        let drainDeadline = ContinuousClock.now + .seconds(30)
        while recorder.count < committed, ContinuousClock.now < drainDeadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let elapsed = ContinuousClock.now - start
        await group.triggerGracefulShutdown()
        try await running

        let lag = try await database.client.query(
            """
            SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - created_at))
            FROM outbox WHERE published_at IS NOT NULL
            """, logger: logger
        ).decode([Double].self).all().first ?? []
        let sorted = recorder.latencies.sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
            return milliseconds(sorted[max(0, index)])
        }
        return Report(
            targetRate: options.rate, seconds: options.seconds, writers: options.writers, committed: committed,
            handled: sorted.count, eventsPerSecond: Double(sorted.count) / (milliseconds(elapsed) / 1000),
            latencyMs: ["p50": percentile(0.50), "p90": percentile(0.90), "p99": percentile(0.99), "max": percentile(1.0)],
            relayLagMs: lag.count == 3 ? ["p50": lag[0] * 1000, "p90": lag[1] * 1000, "p99": lag[2] * 1000] : [:])
    }

    static func write(
        database: TestDatabase, topic: String, aggregate: String, recorder: Recorder
    ) async throws {
        let envelope = EventEnvelope(
            type: "bench.tick", aggregateType: "bench", aggregateId: aggregate, correlationId: "bench", producer: "bench",
            payload: .object(["n": .integer(1)]))
        try await database.client.inTransaction(logger: TestEnvironment.logger) { connection in
            try await Outbox.append(envelope, topic: topic, on: connection, logger: TestEnvironment.logger)
        }
        recorder.committed(envelope.id)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}

/// Commit instants by event id, and the commit-to-handled latencies measured so far.
final class Recorder: Sendable {
    private struct State {
        var commits: [UUID: ContinuousClock.Instant] = [:]
        var latencies: [Duration] = []
        var early: Set<UUID> = []
    }

    private let state = Mutex(State())

    func committed(_ id: UUID) {
        let now = ContinuousClock.now
        state.withLock { state in
            // Handled before the writer even saw its commit return: as fast as it gets.
            if state.early.remove(id) != nil {
                state.latencies.append(.zero)
            } else {
                state.commits[id] = now
            }
        }
    }

    func handled(_ id: UUID) {
        let now = ContinuousClock.now
        state.withLock { state in
            if let committed = state.commits.removeValue(forKey: id) {
                state.latencies.append(now - committed)
            } else {
                state.early.insert(id)
            }
        }
    }

    var count: Int { state.withLock { $0.latencies.count } }
    var latencies: [Duration] { state.withLock { $0.latencies } }

    func reset() {
        state.withLock { $0.latencies.removeAll() }
    }
}
