import EventContracts
import Foundation
import NIOHTTP1
import StripeClient
import TestSupport
import Testing

@Suite struct PaymentIntentTests {
    @Test func aVisaTestCardPaysTheIntentWithACharge() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        let (intent, chargeId) = try await sim.paidCharge(amount: 5000, group: "checkout-1")
        #expect(intent.status == "succeeded")
        #expect(intent.amount == 5000 && intent.currency == "usd")
        #expect(intent.metadata == ["checkout_id": "checkout-1"])
        #expect(intent.transfer_group == "checkout-1")
        #expect(chargeId.hasPrefix("ch_"))

        let charge: Charge = try await sim.client().get("/v1/charges/\(chargeId)")
        #expect(charge.paid && charge.status == "succeeded" && charge.amount == 5000 && charge.amount_refunded == 0)
        #expect(charge.payment_intent?.id == intent.id)
        let events = try await sim.stripeGET("/v1/events?type=payment_intent.*")
        #expect(events["data"]?.array?.compactMap { $0["type"]?.string } == ["payment_intent.succeeded", "payment_intent.created"])
    }

    @Test func aDeclinedCardIsACardErrorAndLeavesTheIntentAwaitingAPaymentMethod() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        let client = sim.client()
        let intent: PaymentIntent = try await client.post(
            "/v1/payment_intents", [("amount", 1200), ("currency", "usd"), ("payment_method_types[]", "card")], idempotencyKey: "pi-decline")
        let error = await stripeError {
            try await client.post(
                "/v1/payment_intents/\(intent.id)/confirm", [("payment_method", "pm_card_chargeDeclinedInsufficientFunds")],
                idempotencyKey: "confirm-decline", as: PaymentIntent.self)
        }
        #expect(error?.kind == .cardDeclined)
        #expect(error?.httpStatus == 402)
        #expect(error?.code == "card_declined" && error?.declineCode == "insufficient_funds")

        let after: PaymentIntent = try await client.get("/v1/payment_intents/\(intent.id)")
        #expect(after.status == "requires_payment_method")
        #expect(after.last_payment_error?.decline_code == "insufficient_funds")
        let failed = try await sim.stripeGET("/v1/events?type=payment_intent.payment_failed")
        let event = try failed["data"]?.array?.first.map { try $0.decode(as: StripeEvent.self) }
        #expect(try event?.object(as: PaymentIntent.self).last_payment_error?.decline_code == "insufficient_funds")
    }

    @Test func unknownParametersAndMissingKeysAreRefusedAsStripeDoes() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        let unknown = await stripeError {
            try await sim.client().post(
                "/v1/payment_intents", [("amount", 100), ("currency", "usd"), ("colour", "blue")], idempotencyKey: "pi-unknown",
                as: PaymentIntent.self)
        }
        #expect(unknown?.kind == .invalidRequest && unknown?.code == "parameter_unknown" && unknown?.httpStatus == 400)
        let missing = await stripeError {
            try await sim.client().post("/v1/payment_intents", [("currency", "usd")], idempotencyKey: "pi-missing", as: PaymentIntent.self)
        }
        #expect(missing?.code == "parameter_missing")

        let (status, body) = try await sim.raw(.GET, "/v1/balance")
        #expect(status == 401)
        #expect(body["error"]?["type"]?.string == "invalid_request_error")
        #expect(try await sim.state("paymentIntents", "count")?.integer == 0)
    }
}
