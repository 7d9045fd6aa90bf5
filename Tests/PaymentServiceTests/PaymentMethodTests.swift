import EventContracts
import Foundation
import HTTPTypes
import StripeClient
import Testing
import TestSupport

@testable import PaymentService

extension ServiceHarness {
    /// Saves a test card for `buyer` (simulated mode: the payment method is given directly).
    func saveCard(_ paymentMethod: String, buyer: String) async throws -> [String: Any] {
        let reply = try await call(.post, "/api/v1/payment-methods", as: buyer, roles: ["buyer"], body: ["paymentMethod": paymentMethod])
        guard reply.status == .created else { throw HarnessError("saving \(paymentMethod): \(reply.status) \(reply.text)") }
        return try (reply.json()["paymentMethod"] as? [String: Any]).orThrow("the saved card")
    }

    func savedCards(_ buyer: String) async throws -> [[String: Any]] {
        let reply = try await call(.get, "/api/v1/payment-methods", as: buyer, roles: ["buyer"])
        guard reply.status == .ok else { throw HarnessError("listing cards: \(reply.status) \(reply.text)") }
        return try (reply.json()["items"] as? [[String: Any]]).orThrow("items")
    }

    func customerId(_ buyer: String) async throws -> String? {
        try await database.client.query("SELECT customer_id FROM buyer_customers WHERE buyer_id = \(buyer)", logger: TestEnvironment.logger)
            .decode(String.self).all().first
    }

    /// A checkout with its intent created; returns (checkoutId, paymentId, intentId).
    func checkoutAwaitingPayment(buyer: String) async throws -> (UUID, String, String) {
        let (checkout, _) = try await announceCheckout(buyer: buyer)
        let intent = try await call(
            .post, "/api/v1/payments/create-intent", as: buyer, roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
        let json = try intent.json()
        return (checkout, try (json["paymentId"] as? String).orThrow("paymentId"), try (json["intentId"] as? String).orThrow("intentId"))
    }
}

@Suite struct PaymentMethodTests {
    @Test func onlyStripePaymentMethodIdsAreLookedUpOrPutIntoAGatewayPath() {
        for id in ["pm_card_visa", "pm_1Pgc75B7WZ01zgkWlHVgdEGJ", "pm_" + String(repeating: "a", count: 252)] {
            #expect(SavedCard.isPaymentMethodId(id), "\(id.prefix(30))")
        }
        for id in ["", "pm_", "4242424242424242", "card_123", "pm_../customers", "pm_a/b", "pm_a?b=c", "pm_é", "pm_a b", "pm_" + String(repeating: "a", count: 253)] {
            #expect(!SavedCard.isPaymentMethodId(id), "\(id.prefix(30))")
        }
    }

    @Test func aBuyerSavesCardsChoosesADefaultPaysWithItAndRemovesOne() async throws {
        try await ServiceHarness.payments { service in
            let stripe = try #require(service.stripe)
            let mastercard = try await service.saveCard("pm_card_mastercard", buyer: "buyer-cards")
            let cardId = try (mastercard["id"] as? String).orThrow("id")
            #expect(cardId.hasPrefix("pm_") && cardId != "pm_card_mastercard")
            #expect(mastercard["brand"] as? String == "mastercard" && mastercard["last4"] as? String == "4444")
            #expect(mastercard["expMonth"] as? Int == 12 && (mastercard["expYear"] as? Int ?? 0) > 2025)
            #expect(mastercard["default"] as? Bool == false)
            let customer = try #require(try await service.customerId("buyer-cards"))
            #expect(customer.hasPrefix("cus_"))
            let visa = try await service.saveCard("pm_card_visa", buyer: "buyer-cards")
            let visaId = try (visa["id"] as? String).orThrow("id")
            // One customer for the buyer, however many cards.
            #expect(try await stripe.state("customers", "count")?.integer == 1)
            #expect(try await service.database.count("SELECT count(*) FROM gateway_commands WHERE kind = 'create_customer'") == 1)

            var cards = try await service.savedCards("buyer-cards")
            #expect(cards.map { $0["id"] as? String } == [visaId, cardId])
            #expect(cards.allSatisfy { $0["default"] as? Bool == false })
            let chosen = try await service.call(.post, "/api/v1/payment-methods/\(cardId)/default", as: "buyer-cards", roles: ["buyer"])
            #expect(chosen.status == .ok)
            #expect(try chosen.json()["default"] as? Bool == true)
            cards = try await service.savedCards("buyer-cards")
            #expect(cards.map { $0["default"] as? Bool } == [false, true])
            let atStripe = try await stripe.stripeGET("/v1/customers/\(customer)")
            #expect(atStripe["invoice_settings"]?["default_payment_method"]?.string == cardId)

            // Paying with the saved card: the intent carries the buyer's customer; the outcome comes by webhook.
            let (checkout, paymentId, intentId) = try await service.checkoutAwaitingPayment(buyer: "buyer-cards")
            let confirm = try await service.call(
                .post, "/api/v1/payments/confirm", as: "buyer-cards", roles: ["buyer"],
                body: ["paymentId": JSONValue.string(paymentId), "paymentMethod": .string(cardId)])
            #expect(confirm.status == .ok)
            #expect(try confirm.json()["intentStatus"] as? String == "succeeded")
            #expect(try await service.eventually { try await service.paymentStatus(checkout: checkout) == "succeeded" })
            #expect(try await service.outboxCount("payment.succeeded") == 1)
            let intent = try await stripe.stripeGET("/v1/payment_intents/\(intentId)")
            #expect(intent["customer"]?.string == customer && intent["payment_method"]?.string == cardId)

            let removed = try await service.call(.delete, "/api/v1/payment-methods/\(visaId)", as: "buyer-cards", roles: ["buyer"])
            #expect(removed.status == .noContent)
            #expect(try await service.savedCards("buyer-cards").map { $0["id"] as? String } == [cardId])
            let again = try await service.call(.delete, "/api/v1/payment-methods/\(visaId)", as: "buyer-cards", roles: ["buyer"])
            #expect(again.status == .notFound)
            #expect(try await stripe.stripeGET("/v1/payment_methods/\(visaId)")["customer"] == .null)
        }
    }

    @Test func anotherBuyerCannotSeeUseChooseOrRemoveACard() async throws {
        try await ServiceHarness.payments { service in
            let stripe = try #require(service.stripe)
            let card = try (try await service.saveCard("pm_card_visa", buyer: "buyer-owner")["id"] as? String).orThrow("id")
            let owner = try #require(try await service.customerId("buyer-owner"))

            #expect(try await service.savedCards("buyer-thief").isEmpty)
            // Listing creates no customer; a buyer without one is refused as one with one is.
            #expect(try await service.customerId("buyer-thief") == nil)
            let (checkout, paymentId, intentId) = try await service.checkoutAwaitingPayment(buyer: "buyer-thief")
            for round in ["without a customer", "with a customer"] {
                let remove = try await service.call(.delete, "/api/v1/payment-methods/\(card)", as: "buyer-thief", roles: ["buyer"])
                #expect(remove.status == .notFound, "\(round)")
                let choose = try await service.call(.post, "/api/v1/payment-methods/\(card)/default", as: "buyer-thief", roles: ["buyer"])
                #expect(choose.status == .notFound, "\(round)")
                let pay = try await service.call(
                    .post, "/api/v1/payments/confirm", as: "buyer-thief", roles: ["buyer"],
                    body: ["paymentId": JSONValue.string(paymentId), "paymentMethod": .string(card)])
                #expect(pay.status == .notFound, "\(round): \(pay.text)")
                _ = try await service.saveCard("pm_card_amex", buyer: "buyer-thief")
            }
            #expect(try await service.savedCards("buyer-thief").map { $0["brand"] as? String } == ["amex", "amex"])
            #expect(try await stripe.stripeGET("/v1/payment_intents/\(intentId)")["status"]?.string == "requires_payment_method")
            #expect(try await service.paymentStatus(checkout: checkout) != "succeeded")
            #expect(try await stripe.stripeGET("/v1/payment_methods/\(card)")["customer"]?.string == owner)
            #expect(try await service.savedCards("buyer-owner").map { $0["id"] as? String } == [card])
            // Sellers have no saved cards.
            let seller = try await service.call(.get, "/api/v1/payment-methods", as: "buyer-owner", roles: ["seller"])
            #expect(seller.status == .forbidden)
        }
    }

    @Test func badInputAndDeclinedCardsGetProblemsAndCardNumbersAreRefused() async throws {
        try await ServiceHarness.payments { service in
            for (body, status) in [
                (["paymentMethod": "4242424242424242"], 422), (["paymentMethod": "pm_does_not_exist"], 422),
                (["paymentMethod": String(repeating: "x", count: 10_000)], 422), (["paymentMethod": "pm_card_chargeDeclined"], 402),
            ] {
                let reply = try await service.call(.post, "/api/v1/payment-methods", as: "buyer-bad", roles: ["buyer"], body: body)
                #expect(Int(reply.status.code) == status, "\(body["paymentMethod"]!.prefix(40)): \(reply.text)")
                #expect(reply.headers[.contentType] == "application/problem+json")
            }
            #expect(try await service.savedCards("buyer-bad").isEmpty)
            for id in ["pm_..%2F..%2Fv1%2Fcustomers", String(repeating: "p", count: 5000), "pm_card_visa"] {
                let reply = try await service.call(.delete, "/api/v1/payment-methods/\(id)", as: "buyer-bad", roles: ["buyer"])
                #expect(reply.status == .notFound, "\(id.prefix(40))")
            }
            // Without a payment method: a SetupIntent whose client secret Stripe.js confirms.
            let pending = try await service.call(.post, "/api/v1/payment-methods", as: "buyer-bad", roles: ["buyer"], body: [String: String]())
            #expect(pending.status == .created)
            let json = try pending.json()
            let setup = try (json["setupIntentId"] as? String).orThrow("setupIntentId")
            #expect(setup.hasPrefix("seti_") && (json["clientSecret"] as? String)?.hasPrefix("\(setup)_secret_") == true)
            #expect(json["status"] as? String == "requires_payment_method" && json["paymentMethod"] == nil)
        }
    }

    @Test func aSavedCardThatDeclinesWhenChargedFailsThePaymentThroughTheWebhook() async throws {
        try await ServiceHarness.payments { service in
            let card = try (try await service.saveCard("pm_card_chargeCustomerFail", buyer: "buyer-fail")["id"] as? String).orThrow("id")
            let (checkout, paymentId, _) = try await service.checkoutAwaitingPayment(buyer: "buyer-fail")
            let confirm = try await service.call(
                .post, "/api/v1/payments/confirm", as: "buyer-fail", roles: ["buyer"],
                body: ["paymentId": JSONValue.string(paymentId), "paymentMethod": .string(card)])
            #expect(confirm.status.code == 402)
            #expect(try await service.eventually { try await service.paymentStatus(checkout: checkout) == "failed" })
            #expect(try await service.outboxCount("payment.failed") == 1)
        }
    }
}
