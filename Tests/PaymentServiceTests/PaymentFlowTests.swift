import EventContracts
import Foundation
import HTTPTypes
import StripeClient
import Testing
import TestSupport

@testable import PaymentService

extension ServiceHarness {
    static func payments(_ body: @Sendable (ServiceHarness) async throws -> Void) async throws {
        try await run(.paymentService, topics: [Topic.orders, Topic.payments, Topic.escrow], body)
    }

    /// A checkout as OrderService announces it; returns (checkoutId, orderIds).
    func announceCheckout(
        buyer: String, amounts: [Int64] = [3000, 1999], currency: String = "usd", checkout: UUID = UUID(), waitForPayment: Bool = true,
        useWallet: Bool? = nil
    ) async throws -> (UUID, [UUID]) {
        let parts = amounts.enumerated().map { index, amount in
            CheckoutCreated.Part(orderId: UUID(), orderNumber: "EM-TEST-\(index)", sellerId: "seller-\(index)", totalAmount: amount)
        }
        try await publish(
            CheckoutCreated(
                checkoutId: checkout, buyerId: buyer, buyerEmail: "\(buyer)@example.test", currency: currency,
                totalAmount: amounts.reduce(0, +), orders: parts, expiresAt: Date().addingTimeInterval(1800), useWallet: useWallet),
            topic: Topic.orders, aggregateId: checkout.uuidString)
        guard waitForPayment else { return (checkout, parts.map(\.orderId)) }
        let created = try await eventually { try await database.count("SELECT count(*) FROM payments WHERE checkout_id = \(checkout)") == 1 }
        guard created else { throw HarnessError("payment was not created from checkout.created") }
        return (checkout, parts.map(\.orderId))
    }

    func paymentStatus(checkout: UUID) async throws -> String? {
        try await database.client.query("SELECT status FROM payments WHERE checkout_id = \(checkout)", logger: TestEnvironment.logger)
            .decode(String.self).all().first
    }

}

@Suite struct PaymentFlowTests {
    @Test func aCheckoutIsPaidOnceThroughTheStripeSimulatorAndItsSignedWebhook() async throws {
        try await ServiceHarness.payments { service in
            let (checkout, orders) = try await service.announceCheckout(buyer: "buyer-pay")
            let intent = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-pay", roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            #expect(intent.status == .ok)
            let json = try intent.json()
            #expect(json["amount"] as? Int == 4999)
            #expect((json["clientSecret"] as? String)?.contains("_secret_") == true)
            // Retrying (also by one of the orders) returns the same intent, never a second one.
            let again = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-pay", roles: ["buyer"], body: ["orderId": JSONValue.string(orders[1].uuidString)])
            #expect(try again.json()["intentId"] as? String == json["intentId"] as? String)
            let stripe = try #require(service.stripe)
            #expect(try await stripe.state("paymentIntents", "count")?.integer == 1)

            let paymentId = try (json["paymentId"] as? String).orThrow("paymentId")
            let confirm = try await service.call(
                .post, "/api/v1/payments/confirm", as: "buyer-pay", roles: ["buyer"],
                body: ["paymentId": JSONValue.string(paymentId), "paymentMethod": "pm_card_visa"])
            #expect(confirm.status == .ok)
            #expect(try await service.eventually { try await service.paymentStatus(checkout: checkout) == "succeeded" })
            #expect(try await service.outboxCount("payment.succeeded") == 1)
            let event = try await service.database.client.query(
                "SELECT envelope FROM outbox WHERE event_type = 'payment.succeeded'", logger: TestEnvironment.logger
            ).decode(Data.self).all().first.orThrow("payment.succeeded in the outbox")
            let succeeded = try EventEnvelope.decode(from: event).decodePayload(as: PaymentSucceeded.self)
            #expect(succeeded.amount == 4999)
            #expect(Set(succeeded.orders.map(\.orderId)) == Set(orders))
            #expect(succeeded.chargeId?.hasPrefix("ch_") == true)
            let metrics = try await service.metrics()
            #expect(metrics.contains(#"payment_outcomes_total{outcome="succeeded"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"payment_outcomes_total{outcome="failed"} 0"#), "\(metrics)")

            // A second confirmation cannot charge again.
            let second = try await service.call(
                .post, "/api/v1/payments/confirm", as: "buyer-pay", roles: ["buyer"],
                body: ["paymentId": JSONValue.string(paymentId), "paymentMethod": "pm_card_visa"])
            #expect(second.status == .conflict)
            #expect(try await service.outboxCount("payment.succeeded") == 1)
        }
    }

    @Test func aDeclinedCardIs402AndTheWebhookPublishesPaymentFailed() async throws {
        try await ServiceHarness.payments { service in
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-decline")
            let intent = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-decline", roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            let paymentId = try (intent.json()["paymentId"] as? String).orThrow("paymentId")
            let confirm = try await service.call(
                .post, "/api/v1/payments/confirm", as: "buyer-decline", roles: ["buyer"],
                body: ["paymentId": JSONValue.string(paymentId), "paymentMethod": "pm_card_chargeDeclinedInsufficientFunds"])
            #expect(confirm.status.code == 402)
            #expect(try confirm.json()["declineCode"] as? String == "insufficient_funds")
            #expect(confirm.text.contains("insufficient funds"))
            #expect(try await service.eventually { try await service.paymentStatus(checkout: checkout) == "failed" })
            #expect(try await service.outboxCount("payment.failed") == 1)
            #expect(try await service.metrics().contains(#"payment_outcomes_total{outcome="failed"} 1"#))
            let unknown = try await service.call(
                .post, "/api/v1/payments/confirm", as: "buyer-decline", roles: ["buyer"],
                body: ["paymentId": JSONValue.string(paymentId), "paymentMethod": "pm_nonsense"])
            #expect(unknown.status == .unprocessableContent)
        }
    }

    @Test func zeroDecimalCurrenciesAreChargedInWholeUnits() async throws {
        try await ServiceHarness.payments { service in
            // ¥1,500: the minor unit of jpy is the yen itself, so the intent is for 1500, not 150000.
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-yen", amounts: [1500], currency: "jpy")
            let intent = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-yen", roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            #expect(try intent.json()["amount"] as? Int == 1500)
            #expect(try intent.json()["currency"] as? String == "jpy")
            let stripe = try #require(service.stripe)
            let stored: PaymentIntent = try await stripe.client().get("/v1/payment_intents/\(try (intent.json()["intentId"] as? String).orThrow("intentId"))")
            #expect(stored.amount == 1500)
            #expect(stored.currency == "jpy")
            #expect(Money.zeroDecimalCurrencies.contains("jpy") && !Money.zeroDecimalCurrencies.contains("usd"))
        }
    }

    /// A client calls create-intent right after its checkout: the request waits for the payment
    /// (announced by NOTIFY when the consumer commits it) instead of answering 404.
    @Test func createIntentBeforeThePaymentExistsWaitsForIt() async throws {
        try await ServiceHarness.run(
            .paymentService, topics: [Topic.orders, Topic.payments, Topic.escrow], environment: ["CREATE_INTENT_WAIT_MS": "4000"]
        ) { service in
            let checkout = UUID()
            async let early = service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-early", roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await service.database.count("SELECT count(*) FROM payments WHERE checkout_id = \(checkout)") == 0)
            _ = try await service.announceCheckout(buyer: "buyer-early", checkout: checkout, waitForPayment: false)
            let reply = try await early
            #expect(reply.status == .ok)
            #expect(try reply.json()["amount"] as? Int == 4999)

            // By order id too, and a payment that never comes is 404 once the wait is over.
            let byOrder = UUID()
            async let second = service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-early-2", roles: ["buyer"], body: ["orderId": JSONValue.string(byOrder.uuidString)])
            let started = ContinuousClock.now
            let unknown = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-early", roles: ["buyer"], body: ["checkoutId": JSONValue.string(UUID().uuidString)])
            #expect(unknown.status == .notFound)
            #expect(ContinuousClock.now - started >= .milliseconds(3900))
            #expect(try await second.status == .notFound)
        }
    }

    /// OrderService's ids are version-7 UUIDs: one made in the last 15 minutes whose payment has
    /// not come within the wait names a checkout still queued behind other events, so the client
    /// is asked to retry (503, Retry-After) rather than told it does not exist. An older id is 404.
    @Test func aRecentCheckoutWhosePaymentIsStillOnItsWayIsRetriedNotRefused() async throws {
        try await ServiceHarness.run(
            .paymentService, topics: [Topic.orders, Topic.payments, Topic.escrow], environment: ["CREATE_INTENT_WAIT_MS": "300"]
        ) { service in
            let checkout = UUID.version7()
            let early = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-queued", roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            #expect(early.status == .serviceUnavailable)
            #expect(early.headers[.retryAfter] == "1")
            #expect(try early.json()["type"] as? String == "/problems/payment-pending")
            #expect(try early.json()["retryAfterSeconds"] as? String == "1")

            // The event arrives; the client's retry gets the intent.
            _ = try await service.announceCheckout(buyer: "buyer-queued", checkout: checkout)
            let retry = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-queued", roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            #expect(retry.status == .ok)

            // Made 20 minutes ago, or by anything but OrderService (a random id): nothing is coming.
            let old = UUID.version7(at: Date().addingTimeInterval(-20 * 60))
            for id in [old, UUID()] {
                for field in ["checkoutId", "orderId"] {
                    let reply = try await service.call(
                        .post, "/api/v1/payments/create-intent", as: "buyer-queued", roles: ["buyer"], body: [field: JSONValue.string(id.uuidString)])
                    #expect(reply.status == .notFound, "\(field) \(id)")
                    #expect(reply.headers[.retryAfter] == nil)
                }
            }
            let recentOrder = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-queued", roles: ["buyer"],
                body: ["orderId": JSONValue.string(UUID.version7().uuidString)])
            #expect(recentOrder.status == .serviceUnavailable)
        }
    }

    @Test func onlyTheBuyerWhoOwnsTheCheckoutCanPayIt() async throws {
        try await ServiceHarness.payments { service in
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-owner")
            let other = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-other", roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            #expect(other.status == .notFound)
            let seller = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-owner", roles: ["seller"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            #expect(seller.status == .forbidden)
            let both = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-owner", roles: ["buyer"],
                body: ["checkoutId": JSONValue.string(checkout.uuidString), "orderId": JSONValue.string(UUID().uuidString)])
            #expect(both.status == .unprocessableContent)
        }
    }
}
