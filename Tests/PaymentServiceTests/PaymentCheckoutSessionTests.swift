import AsyncHTTPClient
import EventContracts
import Foundation
import NIOCore
import PostgresNIO
import StripeClient
import Testing
import TestSupport

@testable import PaymentService

/// Paying on Stripe Checkout: one open session per payment, settled by the same webhooks as the
/// PaymentIntent path, and never alongside an intent of our own.
@Suite struct PaymentCheckoutSessionTests {
    func openSession(_ service: ServiceHarness, _ checkout: UUID, buyer: String, successUrl: String = "https://shop.example/paid") async throws -> HTTPReply {
        try await service.call(
            .post, "/api/v1/payments/checkout-session", as: buyer, roles: ["buyer"],
            body: ["checkoutId": checkout.uuidString, "successUrl": successUrl, "cancelUrl": "https://shop.example/cart"])
    }

    /// The buyer on the hosted page: picks a card and pays (the redirect to success_url is not followed).
    func payOnPage(_ url: String, card: String) async throws -> Int {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: "payment_method=\(card)"))
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
            try await client.shutdown()
            return Int(response.status.code)
        } catch {
            try await client.shutdown()
            throw error
        }
    }

    @Test func aCheckoutPaidOnStripeCheckoutSucceedsOnceThroughItsWebhooks() async throws {
        try await ServiceHarness.payments { service in
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-cs", amounts: [3000, 1999])
            let first = try await openSession(service, checkout, buyer: "buyer-cs")
            #expect(first.status == .ok, "\(first.text)")
            let session = try #require(try first.json()["sessionId"] as? String)
            let url = try #require(try first.json()["url"] as? String)
            #expect(session.hasPrefix("cs_test_"))
            #expect(try await openSession(service, checkout, buyer: "buyer-cs").json()["sessionId"] as? String == session)
            #expect(try await openSession(service, checkout, buyer: "buyer-other").status == .notFound)
            let intent = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-cs", roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            #expect(intent.status == .conflict && intent.text.contains("Checkout"), "\(intent.text)")

            // A decline is an attempt: the session stays open and the orders are not failed.
            #expect(try await payOnPage(url, card: "pm_card_chargeDeclined") == 200)
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*) FROM payment_trail WHERE kind = 'checkout_attempt_failed'") == 1
            })
            #expect(try await service.outboxCount("payment.failed") == 0)
            #expect(try await payOnPage(url, card: "pm_card_visa") == 303)
            #expect(try await service.eventually { try await service.paymentStatus(checkout: checkout) == "succeeded" })
            #expect(try await service.outboxCount("payment.succeeded") == 1)
            let stripe = try #require(service.stripe)
            let stored: CheckoutSession = try await stripe.client().get("/v1/checkout/sessions/\(session)")
            let intentId = try #require(stored.payment_intent?.id)
            #expect(try await service.database.count("SELECT count(*) FROM payments WHERE intent_id = \(intentId) AND charge_id IS NOT NULL") == 1)
            // checkout.session.completed is a webhook of its own, which may come after the payment's.
            let completed: PostgresQuery = "SELECT count(*) FROM payment_trail WHERE kind = 'checkout_session_completed'"
            #expect(try await service.eventually { try await service.database.count(completed) >= 1 })
            #expect(try await service.database.count(completed) == 1)
            #expect(try await stripe.state("paymentIntents", "count")?.integer == 1)
            #expect(try await openSession(service, checkout, buyer: "buyer-cs").status == .conflict)
        }
    }

    @Test func anExpiredSessionIsReplacedAndBadReturnAddressesAreRefused() async throws {
        try await ServiceHarness.payments { service in
            let stripe = try #require(service.stripe)
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-exp", amounts: [1500])
            for bad in ["javascript:alert(1)", "ftp://shop.example/x", "not a url", "https://shop.example/" + String(repeating: "a", count: 2001)] {
                #expect(try await openSession(service, checkout, buyer: "buyer-exp", successUrl: bad).status == .unprocessableContent, "\(bad.prefix(30))")
            }
            let opened = try await openSession(service, checkout, buyer: "buyer-exp").json()
            let first = try #require(opened["sessionId"] as? String)
            // A declined attempt first: the session's intent is linked, then cancelled by the expiry.
            #expect(try await payOnPage(try #require(opened["url"] as? String), card: "pm_card_chargeDeclined") == 200)
            let _: CheckoutSession = try await stripe.client().post("/v1/checkout/sessions/\(first)/expire", [], idempotencyKey: UUID().uuidString)
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*) FROM payment_trail WHERE kind = 'checkout_session_expired'") == 1
            })
            let second = try #require(try await openSession(service, checkout, buyer: "buyer-exp").json()["sessionId"] as? String)
            #expect(second != first)
            #expect(try await service.paymentStatus(checkout: checkout) == "requires_payment")
            #expect(try await service.outboxCount("payment.failed") == 0)
            #expect(try await service.database.count("SELECT count(*) FROM stripe_events WHERE processed_at IS NULL") == 0)
        }
    }

    @Test func aPaymentWithAnIntentGetsNoSession() async throws {
        try await ServiceHarness.payments { service in
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-pi", amounts: [1500])
            let intent = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-pi", roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            #expect(intent.status == .ok)
            let refused = try await openSession(service, checkout, buyer: "buyer-pi")
            #expect(refused.status == .conflict && refused.text.contains("PaymentIntent"), "\(refused.text)")
        }
    }
}
