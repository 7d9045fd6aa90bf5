import EventContracts
import Foundation
import StripeClient
import TestSupport
import Testing

/// Customers, SetupIntents and saved card PaymentMethods, with Stripe's rules on who may use them.
@Suite struct SavedCardTests {
    @Test func aSetupIntentSavesACopyOfATestCardForTheCustomerAndListsIt() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        let client = sim.client()
        let customer: Customer = try await client.post("/v1/customers", [("email", "ana@example.test")], idempotencyKey: "cus-ana")
        let setup: SetupIntent = try await client.post(
            "/v1/setup_intents", [("customer", .string(customer.id)), ("payment_method_types[]", "card"), ("usage", "off_session")],
            idempotencyKey: "seti-ana")
        #expect(setup.status == "requires_payment_method" && setup.client_secret?.hasPrefix("\(setup.id)_secret_") == true)
        let confirmed: SetupIntent = try await client.post(
            "/v1/setup_intents/\(setup.id)/confirm", [("payment_method", "pm_card_mastercard")], idempotencyKey: "seti-ana-confirm")
        let saved = try #require(confirmed.payment_method?.id)
        #expect(confirmed.status == "succeeded" && saved.hasPrefix("pm_") && saved != "pm_card_mastercard")
        let method: PaymentMethod = try await client.get("/v1/payment_methods/\(saved)")
        #expect(method.customer?.id == customer.id)
        #expect(method.card?.brand == "mastercard" && method.card?.last4 == "4444" && method.card?.exp_month == 12)

        let visa: PaymentMethod = try await client.post(
            "/v1/payment_methods/pm_card_visa/attach", [("customer", .string(customer.id))], idempotencyKey: "attach-visa")
        let list: StripeList<PaymentMethod> = try await client.get("/v1/payment_methods?customer=\(customer.id)&type=card")
        #expect(list.data.map(\.id) == [visa.id, saved])
        let events = try await sim.stripeGET("/v1/events?type=payment_method.attached")
        #expect(events["data"]?.array?.count == 2)
        #expect(try await sim.state("setupIntents", "byStatus", "succeeded")?.integer == 1)
    }

    @Test func theDefaultGoesWithADetachedCardAndADetachedCardIsNeverUsedAgain() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        let client = sim.client()
        let customer: Customer = try await client.post("/v1/customers", [], idempotencyKey: "cus-1")
        let card: PaymentMethod = try await client.post(
            "/v1/payment_methods/pm_card_visa/attach", [("customer", .string(customer.id))], idempotencyKey: "attach-1")
        let updated: Customer = try await client.post(
            "/v1/customers/\(customer.id)", [("invoice_settings", .dictionary([("default_payment_method", .string(card.id))]))],
            idempotencyKey: "default-1")
        #expect(updated.defaultPaymentMethod == card.id)
        let detached: PaymentMethod = try await client.post("/v1/payment_methods/\(card.id)/detach", [], idempotencyKey: "detach-1")
        #expect(detached.customer == nil)
        let after: Customer = try await client.get("/v1/customers/\(customer.id)")
        #expect(after.defaultPaymentMethod == nil)
        let reattach = await stripeError {
            try await client.post(
                "/v1/payment_methods/\(card.id)/attach", [("customer", .string(customer.id))], idempotencyKey: "attach-again",
                as: PaymentMethod.self)
        }
        #expect(reattach?.kind == .invalidRequest && reattach?.message.contains("may not be used again") == true)
        let intent: PaymentIntent = try await client.post(
            "/v1/payment_intents", [("amount", 1000), ("currency", "usd")], idempotencyKey: "pi-detached")
        let charge = await stripeError {
            try await client.post(
                "/v1/payment_intents/\(intent.id)/confirm", [("payment_method", .string(card.id))], idempotencyKey: "confirm-detached",
                as: PaymentIntent.self)
        }
        #expect(charge?.httpStatus == 400 && charge?.message.contains("may not be used again") == true)
    }

    @Test func aCardAttachedToOneCustomerCannotPayForAnotherOrForNone() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        let client = sim.client()
        let ana: Customer = try await client.post("/v1/customers", [], idempotencyKey: "cus-ana")
        let bob: Customer = try await client.post("/v1/customers", [], idempotencyKey: "cus-bob")
        let card: PaymentMethod = try await client.post(
            "/v1/payment_methods/pm_card_visa/attach", [("customer", .string(ana.id))], idempotencyKey: "attach-ana")
        let intent: PaymentIntent = try await client.post(
            "/v1/payment_intents", [("amount", 1000), ("currency", "usd")], idempotencyKey: "pi-1")
        for (index, customer) in [nil, bob.id].enumerated() {
            var fields: [(String, StripeFormValue)] = [("payment_method", .string(card.id))]
            if let customer { fields.append(("customer", .string(customer))) }
            let error = await stripeError {
                try await client.post("/v1/payment_intents/\(intent.id)", fields, idempotencyKey: "update-\(index)", as: PaymentIntent.self)
            }
            #expect(error?.kind == .invalidRequest && error?.httpStatus == 400, "customer \(customer ?? "none")")
        }
        let steal = await stripeError {
            try await client.post(
                "/v1/payment_methods/\(card.id)/attach", [("customer", .string(bob.id))], idempotencyKey: "attach-bob", as: PaymentMethod.self)
        }
        #expect(steal?.message == "The payment method you provided has already been attached to a customer.")
        // With its own customer on the intent, the card pays.
        let _: PaymentIntent = try await client.post(
            "/v1/payment_intents/\(intent.id)", [("payment_method", .string(card.id)), ("customer", .string(ana.id))],
            idempotencyKey: "update-ana")
        let paid: PaymentIntent = try await client.post("/v1/payment_intents/\(intent.id)/confirm", [], idempotencyKey: "confirm-ana")
        #expect(paid.status == "succeeded")
        let stored = try await sim.stripeGET("/v1/payment_intents/\(intent.id)")
        #expect(stored["customer"]?.string == ana.id && stored["payment_method"]?.string == card.id)
    }

    @Test func aCardThatDeclinesCannotBeSavedButChargeCustomerFailIsSavedAndDeclinesLater() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        let client = sim.client()
        let customer: Customer = try await client.post("/v1/customers", [], idempotencyKey: "cus-1")
        let refused = await stripeError {
            try await client.post(
                "/v1/setup_intents", [("customer", .string(customer.id)), ("payment_method", "pm_card_chargeDeclined"), ("confirm", true)],
                idempotencyKey: "seti-declined", as: SetupIntent.self)
        }
        #expect(refused?.kind == .cardDeclined && refused?.declineCode == "generic_decline")
        let failed = try await sim.stripeGET("/v1/events?type=setup_intent.setup_failed")
        #expect(failed["data"]?.array?.count == 1)
        let list: StripeList<PaymentMethod> = try await client.get("/v1/payment_methods?customer=\(customer.id)")
        #expect(list.data.isEmpty)

        let saved: SetupIntent = try await client.post(
            "/v1/setup_intents", [("customer", .string(customer.id)), ("payment_method", "pm_card_chargeCustomerFail"), ("confirm", true)],
            idempotencyKey: "seti-later")
        let card = try #require(saved.payment_method?.id)
        let intent: PaymentIntent = try await client.post(
            "/v1/payment_intents", [("amount", 1000), ("currency", "usd"), ("customer", .string(customer.id))], idempotencyKey: "pi-later")
        let declined = await stripeError {
            try await client.post(
                "/v1/payment_intents/\(intent.id)/confirm", [("payment_method", .string(card))], idempotencyKey: "confirm-later",
                as: PaymentIntent.self)
        }
        #expect(declined?.kind == .cardDeclined)
        let unknown = await stripeError { try await client.get("/v1/payment_methods/pm_nope", as: PaymentMethod.self) }
        #expect(unknown?.httpStatus == 404 && unknown?.code == "resource_missing")
    }
}
