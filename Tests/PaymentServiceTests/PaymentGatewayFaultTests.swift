import AsyncHTTPClient
import EventContracts
import Foundation
import NIOCore
import StripeClient
import Testing
import TestSupport

@testable import PaymentService

/// PaymentService's calls to Stripe when answers are slow or lost: never a transaction open
/// across a call, one object per decision.
@Suite struct PaymentGatewayFaultTests {
    static let environment = ["STRIPE_TIMEOUT_MS": "800", "STRIPE_MAX_ATTEMPTS": "1"]
    /// How late a lost answer comes: far past the 800 ms timeout. With 1.5 s, a loaded CI machine
    /// once let the answer through: an event loop that stalls past both the deadline and the
    /// answer reads the answer before it runs the expired deadline, and the first attempt succeeds.
    static let lostAnswerHangMs: JSONValue = 6000

    static func run(_ environment: [String: String] = Self.environment, _ body: @Sendable (ServiceHarness) async throws -> Void) async throws {
        try await ServiceHarness.run(.paymentService, topics: [Topic.orders, Topic.payments, Topic.escrow], environment: environment, body)
    }

    /// The intent is made but its answer lost: the buyer is told to retry (or gets it once the
    /// retry inside the request succeeds); either way there is one intent, and every later
    /// call returns it.
    @Test func aLostIntentAnswerStillMakesOneIntent() async throws {
        try await Self.run { service in
            let stripe = try #require(service.stripe)
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-lost")
            try await stripe.control(
                .PUT, "/_sim/faults", ["rules": [["kind": "lost_answer", "method": "POST", "path": "/v1/payment_intents", "count": 1, "hangMs": Self.lostAnswerHangMs]]])
            let body = ["checkoutId": JSONValue.string(checkout.uuidString)]
            let first = try await service.call(.post, "/api/v1/payments/create-intent", as: "buyer-lost", roles: ["buyer"], body: body)
            #expect(first.status == .ok || first.status == .serviceUnavailable, "\(first.text)")
            var intentId: String?
            #expect(try await service.eventually {
                let again = try await service.call(.post, "/api/v1/payments/create-intent", as: "buyer-lost", roles: ["buyer"], body: body)
                intentId = again.status == .ok ? try again.json()["intentId"] as? String : nil
                return intentId != nil
            })
            #expect(try await stripe.state("paymentIntents", "count")?.integer == 1)
            let stored: PaymentIntent = try await stripe.client().get("/v1/payment_intents/\(try #require(intentId))")
            #expect(stored.amount == 4999)
            #expect(try await service.database.count("SELECT max(attempts)::int FROM gateway_commands WHERE kind = 'create_intent'") >= 2)
        }
    }

    /// A refund made but whose answer is lost is retried with its key: one refund at Stripe.
    @Test func aLostRefundAnswerRefundsOnce() async throws {
        try await Self.run { service in
            let stripe = try #require(service.stripe)
            let (payment, _) = try await service.paidCheckout(buyer: "buyer-lost-refund", amounts: [2000])
            try await stripe.control(
                .PUT, "/_sim/faults", ["rules": [["kind": "lost_answer", "method": "POST", "path": "/v1/refunds", "count": 1, "hangMs": Self.lostAnswerHangMs]]])
            #expect(try await service.refund(payment, order: nil, amount: 1500).status == .accepted)
            #expect(try await service.eventually { try await service.outboxCount("refund.succeeded") == 1 })
            #expect(try await stripe.state("refunds", "count")?.integer == 1)
            #expect(try await stripe.state("charges", "amountRefunded")?.integer == 1500)
            #expect(try await service.database.count("SELECT max(attempts)::int FROM gateway_commands WHERE kind = 'refund'") >= 2)
        }
    }

    /// Stripe fails the refund late, and reports it before our retry has learnt the refund's
    /// first answer (lost): the report waits for the refund's outcome, then reverses it, so our
    /// books end as Stripe's do (chaos found it booked as refunded for good).
    @Test func aLateRefundFailureReportedBeforeItsLostAnswerIsStillReversed() async throws {
        try await Self.run { service in
            let stripe = try #require(service.stripe)
            let (payment, _) = try await service.paidCheckout(buyer: "buyer-race", amounts: [2000])
            try await stripe.control(
                .PUT, "/_sim/faults",
                [
                    "rules": [["kind": "lost_answer", "method": "POST", "path": "/v1/refunds", "count": 1, "hangMs": Self.lostAnswerHangMs]],
                    "lateFailures": ["refundRate": 1, "delayMs": 100],
                ])
            #expect(try await service.refund(payment, order: nil, amount: 1200).status == .accepted)
            #expect(try await service.eventually { try await service.outboxCount("refund.failed") == 1 })
            #expect(try await stripe.state("refunds", "byStatus", "failed", "count")?.integer == 1)
            #expect(try await service.database.count("SELECT count(*)::int FROM refunds WHERE status = 'failed'") == 1)
            #expect(try await service.database.count("SELECT amount_refunded::int FROM payments WHERE id = \(UUID(uuidString: payment)!)") == 0)
            // It did succeed first: EscrowService booked it, and now books it back.
            #expect(try await service.outboxCount("refund.succeeded") == 1)
        }
    }

    /// 64 buyers at once while every intent call takes 1.5 s: nobody wedges the pool, and no
    /// connection of ours sits idle in a transaction across a gateway call (sampled from
    /// pg_stat_activity throughout).
    @Test func sixtyFourConcurrentBuyersNeverHoldAConnectionAcrossAGatewayCall() async throws {
        try await Self.run(["RATE_LIMIT_PER_MINUTE": "6000", "RATE_LIMIT_BURST": "100"]) { service in
            let stripe = try #require(service.stripe)
            let buyers = (0..<64).map { "buyer-\($0)" }
            var checkouts: [String: UUID] = [:]
            for buyer in buyers { checkouts[buyer] = try await service.announceCheckout(buyer: buyer, amounts: [1000]).0 }
            try await stripe.control(.PUT, "/_sim/faults", ["rules": [["kind": "latency", "path": "/v1/payment_intents", "latencyMs": 1500]]])
            let port = try #require(service.port)
            let schema = service.database.schema
            let sampling = SharedCounter()
            let worst = SharedCounter()
            let sampler = Task {
                while !Task.isCancelled {
                    // A transaction of ours idle for over 1.2 s can only be waiting on the 1.5 s gateway.
                    let held = try await service.database.count(
                        """
                        SELECT count(DISTINCT a.pid)::int FROM pg_stat_activity a
                        JOIN pg_locks l ON l.pid = a.pid JOIN pg_class c ON c.oid = l.relation
                        JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = \(schema) AND a.state LIKE 'idle in transaction%'
                          AND now() - a.state_change > interval '1200 milliseconds'
                        """)
                    worst.set(max(worst.current, held))
                    sampling.add()
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            defer { sampler.cancel() }
            let outcomes = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for buyer in buyers {
                    let checkout = try #require(checkouts[buyer])
                    let token = try await service.token(buyer, ["buyer"])
                    group.addTask {
                        let created = try await Self.post(port, "/api/v1/payments/create-intent", token, #"{"checkoutId":"\#(checkout.uuidString)"}"#)
                        guard created.0 == 200, let payment = created.1["paymentId"] as? String else { return (created.0, 0) }
                        let confirmed = try await Self.post(
                            port, "/api/v1/payments/confirm", token, #"{"paymentId":"\#(payment)","paymentMethod":"pm_card_visa"}"#)
                        return (created.0, confirmed.0)
                    }
                }
                return try await group.reduce(into: [(Int, Int)]()) { $0.append($1) }
            }
            #expect(outcomes.allSatisfy { $0 == (200, 200) }, "\(outcomes)")
            #expect(try await service.eventually(timeout: .seconds(60)) {
                try await service.database.count("SELECT count(*)::int FROM payments WHERE status = 'succeeded'") == 64
            })
            sampler.cancel()
            #expect(sampling.current > 10)
            #expect(worst.current == 0)
            #expect(try await stripe.state("paymentIntents", "count")?.integer == 64)
            // Still answering: the pool is not wedged.
            #expect(try await service.client.execute(uri: "/health/ready", method: .get) { $0.status } == .ok)
        }
    }

    /// The buyers' browsers: `HTTPClient.shared` would send at most 8 requests at once.
    static let buyers: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    static func post(_ port: Int, _ path: String, _ token: String, _ body: String) async throws -> (Int, [String: Any]) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await buyers.execute(request, timeout: .seconds(120))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any]) ?? [:]
        return (Int(response.status.code), json)
    }
}
