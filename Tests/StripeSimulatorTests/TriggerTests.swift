import EventContracts
import Foundation
import NIOHTTP1
import StripeClient
import TestSupport
import Testing

/// What Stripe does on its own, made to happen by the control API.
@Suite struct TriggerTests {
    @Test func aDisputeIsOpenedAndClosedWithTheEventsThePlatformReads() async throws {
        let receiver = try await WebhookReceiver(secret: "whsec_simulator_tests")
        defer { Task { await receiver.stop() } }
        let sim = try await SimulatorHarness(environment: ["SIM_WEBHOOK_URL": receiver.url])
        defer { sim.stop() }
        let (intent, charge) = try await sim.paidCharge(amount: 4_000, group: "checkout-d1")

        let opened = try await sim.control(.POST, "/_sim/disputes", ["charge": .string(charge), "amount": 1_500, "reason": "fraudulent"])
        let disputeId = try #require(opened["id"]?.string)
        let created = try #require(try await receiver.event("charge.dispute.created"))
        let dispute = try created.event.object(as: Dispute.self)
        #expect(dispute.id == disputeId && dispute.charge.id == charge && dispute.payment_intent?.id == intent.id)
        #expect(dispute.amount == 1_500 && dispute.status == "needs_response" && dispute.reason == "fraudulent")
        let disputed: Charge = try await sim.client().get("/v1/charges/\(charge)")
        #expect(disputed.disputed)
        let refund = await stripeError {
            try await sim.client().post("/v1/refunds", [("charge", .string(charge))], idempotencyKey: "refund-d1", as: Refund.self)
        }
        #expect(refund?.code == "charge_disputed")

        try await sim.control(.POST, "/_sim/disputes/\(disputeId)/close", ["status": "lost"])
        let closed = try #require(try await receiver.event("charge.dispute.closed"))
        #expect(try closed.event.object(as: Dispute.self).status == "lost")
        #expect(try await sim.state("balances", "platform", "usd")?.integer == 2_500)
    }

    @Test func aRestrictedAccountCannotPayOutUntilOnboardedAgain() async throws {
        let receiver = try await WebhookReceiver(secret: "whsec_simulator_tests")
        defer { Task { await receiver.stop() } }
        let sim = try await SimulatorHarness(environment: ["SIM_WEBHOOK_URL": receiver.url])
        defer { sim.stop() }
        let (_, charge) = try await sim.paidCharge(amount: 2_000, group: "checkout-a1")
        let seller = try await sim.connectedAccount()
        _ = try await sim.transfer(2_000, from: charge, to: seller.id, group: "checkout-a1")

        try await sim.control(.POST, "/_sim/accounts/\(seller.id)/restrict")
        let restricted = try #require(try await receiver.event("account.updated") { (try? $0.event.object(as: Account.self).payouts_enabled) == false })
        #expect(restricted.event.account == seller.id)
        let refused = await stripeError {
            try await sim.client().post(
                "/v1/payouts", [("amount", 500), ("currency", "usd")], idempotencyKey: "payout-a1", account: seller.id, as: Payout.self)
        }
        #expect(refused?.code == "payouts_not_allowed")

        try await sim.control(.POST, "/_sim/accounts/\(seller.id)/onboard")
        let payout: Payout = try await sim.client().post(
            "/v1/payouts", [("amount", 500), ("currency", "usd")], idempotencyKey: "payout-a2", account: seller.id)
        #expect(payout.status == "pending")
    }

    @Test func aPaidPayoutCanStillFailWhenTheBankReturnsIt() async throws {
        let receiver = try await WebhookReceiver(secret: "whsec_simulator_tests")
        defer { Task { await receiver.stop() } }
        let sim = try await SimulatorHarness(environment: ["SIM_WEBHOOK_URL": receiver.url, "SIM_PAYOUT_DELAY_MS": "50"])
        defer { sim.stop() }
        let (_, charge) = try await sim.paidCharge(amount: 2_000, group: "checkout-p4")
        let seller = try await sim.connectedAccount()
        _ = try await sim.transfer(2_000, from: charge, to: seller.id, group: "checkout-p4")
        let payout: Payout = try await sim.client().post(
            "/v1/payouts", [("amount", 2_000), ("currency", "usd")], idempotencyKey: "payout-p4", account: seller.id)
        #expect(try await receiver.event("payout.paid") != nil)
        #expect(try await sim.state("balances", "accounts", seller.id, "usd")?.integer == 0)

        try await sim.control(.POST, "/_sim/payouts/\(payout.id)/fail")
        let failed = try #require(try await receiver.event("payout.failed"))
        #expect(try failed.event.object(as: Payout.self).failure_code == "account_closed")
        #expect(try await sim.state("balances", "accounts", seller.id, "usd")?.integer == 2_000)
    }

    @Test func duplicatedWebhooksCarryTheSameEventId() async throws {
        let receiver = try await WebhookReceiver(secret: "whsec_simulator_tests")
        defer { Task { await receiver.stop() } }
        let sim = try await SimulatorHarness(environment: ["SIM_WEBHOOK_URL": receiver.url])
        defer { sim.stop() }
        try await sim.control(.PUT, "/_sim/faults", ["webhooks": ["duplicateRate": JSONValue.number(1)], "seed": 1])
        let _: JSONValue = try await sim.client().post("/v1/customers", [("email", "d@example.test")], idempotencyKey: "c-dup")
        let twice = await SimulatorHarness.eventually { receiver.deliveries.filter { $0.event.type == "customer.created" }.count == 2 }
        #expect(twice)
        #expect(Set(receiver.deliveries.map(\.event.id)).count == 1)
    }

    @Test func aTimeoutAnswers504AfterHangingAndDoesNothing() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        try await sim.control(.PUT, "/_sim/faults", ["rules": [["kind": "timeout", "path": "/v1/customers", "count": 1, "hangMs": 300]]])
        let started = ContinuousClock.now
        let error = await stripeError {
            try await sim.client().post("/v1/customers", [("email", "t@example.test")], idempotencyKey: "c-timeout", as: JSONValue.self)
        }
        #expect(error?.httpStatus == 504 && ContinuousClock.now - started >= .milliseconds(300))
        #expect(try await sim.state("customers", "count")?.integer == 0)
    }
}
