import EventContracts
import Foundation
import NIOHTTP1
import StripeClient
import TestSupport
import Testing

@Suite struct PayoutTests {
    @Test func aPayoutSettlesAndItsSignedWebhookArrives() async throws {
        let receiver = try await WebhookReceiver(secret: "whsec_simulator_tests")
        defer { Task { await receiver.stop() } }
        let sim = try await SimulatorHarness(environment: ["SIM_WEBHOOK_URL": receiver.url, "SIM_PAYOUT_DELAY_MS": "200"])
        defer { sim.stop() }
        let (_, charge) = try await sim.paidCharge(amount: 4_000, group: "checkout-p1")
        let seller = try await sim.connectedAccount()
        _ = try await sim.transfer(3_000, from: charge, to: seller.id, group: "checkout-p1")

        let payout: Payout = try await sim.client().post(
            "/v1/payouts", [("amount", 2_000), ("currency", "usd")], idempotencyKey: "payout-1", account: seller.id)
        #expect(payout.status == "pending")
        let paid = try #require(try await receiver.event("payout.paid"))
        #expect(paid.signatureValid)
        #expect(paid.event.account == seller.id)
        #expect(try paid.event.object(as: Payout.self).id == payout.id)
        let settled: Payout = try await sim.client().get("/v1/payouts/\(payout.id)", account: seller.id)
        #expect(settled.status == "paid")
        // The events came in the order they happened.
        let types = receiver.deliveries.map(\.event.type)
        let position = { (type: String) in try #require(types.firstIndex(of: type), "no \(type) in \(types)") }
        #expect(try position("payment_intent.succeeded") < position("transfer.created"))
        #expect(try position("payout.created") < position("payout.paid"))
        let allSigned = receiver.deliveries.allSatisfy { $0.signatureValid }
        #expect(allSigned)
    }

    @Test func aPayoutBeyondTheAvailableBalanceIsRefused() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        let (_, charge) = try await sim.paidCharge(amount: 1_000, group: "checkout-p2")
        let seller = try await sim.connectedAccount()
        _ = try await sim.transfer(1_000, from: charge, to: seller.id, group: "checkout-p2")
        let _: Payout = try await sim.client().post(
            "/v1/payouts", [("amount", 700), ("currency", "usd")], idempotencyKey: "payout-2a", account: seller.id)
        let error = await stripeError {
            try await sim.client().post(
                "/v1/payouts", [("amount", 301), ("currency", "usd")], idempotencyKey: "payout-2b", account: seller.id, as: Payout.self)
        }
        #expect(error?.kind == .invalidRequest && error?.code == "balance_insufficient")
        #expect(try await sim.state("payouts", "count")?.integer == 1)
    }

    @Test func aPayoutToTheFailingTestBankFailsWithAccountClosed() async throws {
        let receiver = try await WebhookReceiver(secret: "whsec_simulator_tests")
        defer { Task { await receiver.stop() } }
        let sim = try await SimulatorHarness(environment: ["SIM_WEBHOOK_URL": receiver.url, "SIM_PAYOUT_DELAY_MS": "50"])
        defer { sim.stop() }
        let (_, charge) = try await sim.paidCharge(amount: 1_000, group: "checkout-p3")
        let seller = try await sim.connectedAccount(failingBank: true)
        _ = try await sim.transfer(1_000, from: charge, to: seller.id, group: "checkout-p3")
        let payout: Payout = try await sim.client().post(
            "/v1/payouts", [("amount", 1_000), ("currency", "usd")], idempotencyKey: "payout-3", account: seller.id)
        let failed = try #require(try await receiver.event("payout.failed"))
        let object = try failed.event.object(as: Payout.self)
        #expect(object.id == payout.id && object.failure_code == "account_closed")
        // A failed payout gives the money back to the account.
        #expect(try await sim.state("balances", "accounts", seller.id, "usd")?.integer == 1_000)
    }
}
