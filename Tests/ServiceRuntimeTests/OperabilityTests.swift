import EventContracts
import Foundation
import HTTPTypes
import Messaging
import Testing
import TestSupport

@testable import EscrowService
@testable import PaymentService
@testable import ServiceRuntime

/// `/metrics`, the per-user rate limit and the request id on running services.
@Suite struct OperabilityTests {
    @Test func metricsCountRequestsByRoutePatternAndReportOutboxPaymentsAndDeadLetters() async throws {
        try await ServiceHarness.run(.paymentService, topics: Topic.all) { service in
            let unknown = UUID().uuidString.lowercased()
            let reply = try await service.call(.get, "/api/v1/payments/\(unknown)", as: "buyer-1", roles: ["buyer"])
            #expect(reply.status == .notFound)

            // An undecodable message is dead-lettered and counted.
            let topic = service.topicPrefix + Topic.orders
            let producer = try KafkaProducer(configuration: TestEnvironment.kafka())
            defer { producer.shutdown() }
            try await producer.send([OutgoingMessage(topic: topic, key: "k", value: Array("not an envelope".utf8))])[0].get()

            var text = ""
            // Counted twice, a moment apart: dead-lettered when the message is parked, consumed when
            // the consumer's loop then finishes it. A scrape may fall between the two.
            let deadLettered = try await service.eventually {
                text = try await service.client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
                return text.contains("events_dead_lettered_total{topic=\"\(topic)\"} 1")
                    && text.contains("events_consumed_total{topic=\"\(topic)\"} 1")
            }
            #expect(deadLettered, "\(text)")
            #expect(text.contains(#"http_requests_total{method="GET",route="/api/v1/payments/{id}",status="404"} 1"#))
            #expect(text.contains(#"http_request_duration_seconds_count{method="GET",route="/api/v1/payments/{id}"} 1"#))
            #expect(!text.contains(unknown), "raw paths must not become labels")
            #expect(text.contains("events_consumed_total{topic=\"\(topic)\"} 1"))
            #expect(text.contains("outbox_unpublished_events "))
            #expect(text.contains("outbox_oldest_unpublished_age_seconds "))
            #expect(text.contains(#"payments{status="succeeded"} 0"#))
            #expect(text.contains(#"payments{status="failed"} 0"#))
            // Every assigned partition of the topic is reported, and all are caught up.
            let caughtUp = try await service.eventually {
                text = try await service.client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
                let lags = text.split(separator: "\n").filter { $0.hasPrefix("kafka_consumer_lag_messages{topic=\"\(topic)\"") }
                return !lags.isEmpty && lags.allSatisfy { $0.hasSuffix("} 0") }
            }
            #expect(caughtUp, "\(text)")
            // And the instance counts the partitions it holds: at least the topic's.
            let assigned = text.split(separator: "\n").first { $0.hasPrefix("kafka_consumer_assigned_partitions ") }
                .flatMap { Int($0.split(separator: " ")[1]) }
            let topicPartitions = text.split(separator: "\n").filter { $0.hasPrefix("kafka_consumer_lag_messages{topic=\"\(topic)\"") }.count
            #expect(assigned.map { $0 >= topicPartitions && $0 > 0 } == true, "\(text)")
        }
    }

    @Test func moneyHeldInEscrowIsAGaugeAndPayoutsAreRateLimitedPerUser() async throws {
        try await ServiceHarness.run(
            .escrowService, topics: Topic.all, environment: ["RATE_LIMIT_PER_MINUTE": "1", "RATE_LIMIT_BURST": "2"]
        ) { service in
            let metrics = try await service.client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains("# TYPE escrow_held_minor_units gauge"))

            var statuses: [HTTPResponse.Status] = []
            for attempt in 0..<3 {
                let reply = try await service.call(
                    .post, "/api/v1/payouts", as: "seller-1", roles: ["seller"], body: ["amount": 100, "currency": "usd"] as [String: AnyEncodable],
                    idempotencyKey: "payout-\(attempt)")
                statuses.append(reply.status)
                if attempt == 2 {
                    #expect(reply.headers[.retryAfter].flatMap(Int.init).map { (1...60).contains($0) } == true)
                }
            }
            #expect(statuses[0] != .tooManyRequests && statuses[1] != .tooManyRequests)
            #expect(statuses[2] == .tooManyRequests)
            // Another seller has their own allowance.
            let other = try await service.call(
                .post, "/api/v1/payouts", as: "seller-2", roles: ["seller"], body: ["amount": 100, "currency": "usd"] as [String: AnyEncodable],
                idempotencyKey: "payout-other")
            #expect(other.status != .tooManyRequests)
        }
    }
}

/// A small type-erased `Encodable` for literal request bodies.
struct AnyEncodable: Encodable, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    let encodeValue: @Sendable (any Encoder) throws -> Void

    init(integerLiteral value: Int) { encodeValue = { try value.encode(to: $0) } }
    init(stringLiteral value: String) { encodeValue = { try value.encode(to: $0) } }

    func encode(to encoder: any Encoder) throws { try encodeValue(encoder) }
}

/// `/metrics` is unauthenticated: however many scrapes arrive, the gauges' queries run once per TTL.
@Suite struct GaugeCacheTests {
    /// Counts computations; each waits until the test lets it finish.
    actor Source {
        var computations = 0
        var waiting: [CheckedContinuation<Void, Never>] = []

        func compute() async -> [GaugeFamily] {
            computations += 1
            let number = computations
            await withCheckedContinuation { waiting.append($0) }
            return [GaugeFamily(name: "computation", help: "n", samples: [.init(value: Double(number))])]
        }

        func finishAll() {
            waiting.forEach { $0.resume() }
            waiting = []
        }
    }

    @Test func concurrentScrapesShareOneComputationAndFreshValuesAreReused() async throws {
        let source = Source()
        let cache = GaugeCache(ttl: .seconds(3600)) { await source.compute() }
        let values = await withTaskGroup(of: Double.self) { group in
            for _ in 0..<10 { group.addTask { await cache.families()[0].samples[0].value } }
            while await source.waiting.isEmpty { await Task.yield() }
            // Give every scrape the chance to start its own computation before the first ends.
            for _ in 0..<100 { await Task.yield() }
            await source.finishAll()
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(values == Array(repeating: 1, count: 10))
        #expect(await source.computations == 1)
        #expect(await cache.families()[0].samples[0].value == 1)
        #expect(await source.computations == 1)
    }

    @Test func staleValuesAreComputedAgain() async throws {
        let source = Source()
        let cache = GaugeCache(ttl: .zero) { await source.compute() }
        for expected in 1...3 {
            async let families = cache.families()
            while await source.waiting.isEmpty { await Task.yield() }
            await source.finishAll()
            #expect(await families[0].samples[0].value == Double(expected))
        }
        #expect(await source.computations == 3)
    }
}
