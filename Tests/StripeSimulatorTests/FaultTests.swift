import EventContracts
import Foundation
import NIOHTTP1
import StripeClient
import TestSupport
import Testing

@Suite struct FaultTests {
    @Test func aLostAnswerTimesTheClientOutButARetryWithTheSameKeyGetsTheSameObject() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        try await sim.control(
            .PUT, "/_sim/faults", ["rules": [["kind": "lost_answer", "method": "POST", "path": "/v1/payment_intents", "count": 1, "hangMs": 3000]]])
        let fields: [(String, StripeFormValue)] = [("amount", 2_500), ("currency", "usd"), ("transfer_group", "checkout-lost")]
        let impatient = sim.client(timeout: .seconds(1))
        let lost = await stripeError { try await impatient.post("/v1/payment_intents", fields, idempotencyKey: "pi-lost", as: PaymentIntent.self) }
        #expect(lost?.kind == .connection)
        #expect(try await sim.state("paymentIntents", "count")?.integer == 1)

        let retried: PaymentIntent = try await impatient.post("/v1/payment_intents", fields, idempotencyKey: "pi-lost")
        let listed = try await sim.stripeGET("/v1/events?type=payment_intent.created")
        #expect(listed["data"]?.array?.first?["data"]?["object"]?["id"]?.string == retried.id)
        #expect(listed["data"]?.array?.count == 1)
        #expect(try await sim.state("paymentIntents", "count")?.integer == 1)
    }

    @Test func aServerErrorCreatesNothingAndTheClientsRetrySucceeds() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        try await sim.control(.PUT, "/_sim/faults", ["rules": [["kind": "server_error", "path": "/v1/customers", "count": 2]]])
        let once = await stripeError { try await sim.client().post("/v1/customers", [("email", "a@example.test")], idempotencyKey: "c-1", as: JSONValue.self) }
        #expect(once?.kind == .api && once?.httpStatus == 500)
        #expect(try await sim.state("customers", "count")?.integer == 0)
        let customer: JSONValue = try await sim.client(attempts: 3).post("/v1/customers", [("email", "a@example.test")], idempotencyKey: "c-1")
        #expect(customer["object"]?.string == "customer")
        #expect(try await sim.state("customers", "count")?.integer == 1)
        #expect(try await sim.control(.GET, "/_sim/faults")["rules"]?.array?.first?["count"]?.integer == 0)
    }

    @Test func aRefundThatFailsLateIsReportedByRefundUpdated() async throws {
        let receiver = try await WebhookReceiver(secret: "whsec_simulator_tests")
        defer { Task { await receiver.stop() } }
        let sim = try await SimulatorHarness(environment: ["SIM_WEBHOOK_URL": receiver.url])
        defer { sim.stop() }
        let (_, charge) = try await sim.paidCharge(amount: 3_000, group: "checkout-r1")

        // Triggered by the control API…
        let refund: Refund = try await sim.client().post(
            "/v1/refunds", [("charge", .string(charge)), ("amount", 1_000), ("metadata", .metadata(["reason": "dispute"]))],
            idempotencyKey: "refund-1")
        #expect(refund.status == "succeeded")
        let tooMuch = await stripeError {
            try await sim.client().post("/v1/refunds", [("charge", .string(charge)), ("amount", 2_001)], idempotencyKey: "refund-2", as: Refund.self)
        }
        #expect(tooMuch?.code == "amount_too_large")
        try await sim.control(.POST, "/_sim/refunds/\(refund.id)/fail", [:])
        let updated = try #require(try await receiver.event("refund.updated") { $0.event.data.object["id"]?.string == refund.id })
        let failed = try updated.event.object(as: Refund.self)
        #expect(failed.status == "failed" && updated.json["data"]?["object"]?["failure_reason"]?.string == "expired_or_canceled_card")
        let chargeAfter: Charge = try await sim.client().get("/v1/charges/\(charge)")
        #expect(chargeAfter.amount_refunded == 0)

        // …and on its own, by the fault plan's late failures.
        try await sim.control(.PUT, "/_sim/faults", ["lateFailures": ["refundRate": JSONValue.number(1), "delayMs": 100], "seed": 7])
        let late: Refund = try await sim.client().post("/v1/refunds", [("charge", .string(charge)), ("amount", 500)], idempotencyKey: "refund-3")
        let lateUpdate = try #require(try await receiver.event("refund.updated") { $0.event.data.object["id"]?.string == late.id })
        #expect(try lateUpdate.event.object(as: Refund.self).status == "failed")
        #expect(receiver.deliveries.contains { $0.event.type == "charge.refunded" })
    }

    @Test func aRefusedWebhookIsRetriedUntilAccepted() async throws {
        let receiver = try await WebhookReceiver(secret: "whsec_simulator_tests", refuseFirst: 2)
        defer { Task { await receiver.stop() } }
        let sim = try await SimulatorHarness(environment: ["SIM_WEBHOOK_URL": receiver.url, "SIM_WEBHOOK_RETRY_BASE_MS": "50"])
        defer { sim.stop() }
        let _: JSONValue = try await sim.client().post("/v1/customers", [("email", "r@example.test")], idempotencyKey: "c-retry")
        #expect(try await receiver.event("customer.created") != nil)
        #expect(try await sim.state("webhooks", "failedAttempts")?.integer == 2)
        #expect(try await sim.state("webhooks", "delivered")?.integer == 1)
    }
}
