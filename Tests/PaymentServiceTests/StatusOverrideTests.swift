import EventContracts
import Foundation
import Testing
import TestSupport

@testable import PaymentService

/// The rule alone: what an admin may set, given where the payment is and what Stripe reports.
@Suite struct StatusOverrideRuleTests {
    @Test(arguments: [
        (PaymentStatus.processing, PaymentStatus.failed, "requires_payment_method", true),
        (.processing, .cancelled, "requires_action", true),
        (.requiresPayment, .cancelled, nil, true),
        (.processing, .succeeded, "succeeded", true),
        (.failed, .succeeded, "succeeded", true),
        (.processing, .failed, "succeeded", false),
        (.processing, .failed, "processing", false),
        (.processing, .cancelled, "requires_capture", false),
        (.processing, .succeeded, "requires_payment_method", false),
        (.requiresPayment, .succeeded, nil, false),
        (.succeeded, .failed, "requires_payment_method", false),
        (.refunded, .succeeded, "succeeded", false),
        (.failed, .failed, "requires_payment_method", false),
        (.processing, .refunded, "succeeded", false),
    ] as [(PaymentStatus, PaymentStatus, String?, Bool)])
    func anOverrideFollowsTheStateMachineAndTheGateway(_ from: PaymentStatus, _ to: PaymentStatus, _ gateway: String?, _ allowed: Bool) {
        #expect((StatusOverride.check(from: from, to: to, gatewayStatus: gateway) == nil) == allowed)
    }
}

/// Against the running service and the simulator: the override asks Stripe first, writes the
/// trail and publishes the usual event; nothing the gateway contradicts goes through.
@Suite struct StatusOverrideTests {
    func override(_ service: ServiceHarness, _ payment: String, _ status: String, as user: String = "ops", roles: [String] = ["admin"]) async throws -> HTTPReply {
        try await service.call(
            .post, "/api/v1/admin/payments/\(payment)/status", as: user, roles: roles,
            body: ["status": JSONValue.string(status), "reason": "buyer abandoned the payment page; checked in the dashboard"])
    }

    @Test func anAbandonedIntentIsMarkedFailedButNeverSucceeded() async throws {
        try await ServiceHarness.payments { service in
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-stuck")
            let intent = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-stuck", roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            let payment = try #require(try intent.json()["paymentId"] as? String)

            #expect(try await override(service, payment, "failed", as: "buyer-stuck", roles: ["buyer"]).status == .forbidden)
            #expect(try await override(service, payment, "refunded").status == .unprocessableContent)
            let refused = try await override(service, payment, "succeeded")
            #expect(refused.status == .conflict)
            #expect(refused.text.contains("requires_payment_method"), "\(refused.text)")
            #expect(try await service.outboxCount("payment.succeeded") == 0)

            let failed = try await override(service, payment, "failed")
            #expect(failed.status == .ok, "\(failed.text)")
            #expect(try await service.paymentStatus(checkout: checkout) == "failed")
            let trail = try #require(try failed.json()["trail"] as? [[String: Any]])
            #expect(trail.contains { ($0["detail"] as? String)?.contains("admin ops: buyer abandoned") == true && $0["kind"] as? String == "failed" })
            #expect(try await service.outboxCount("payment.failed") == 1)
            #expect(try await override(service, payment, "failed").status == .conflict)
        }
    }

    @Test func aSucceededIntentWhoseWebhookNeverCameIsMarkedSucceededOnceAndNeverFailed() async throws {
        try await ServiceHarness.payments { service in
            let stripe = try #require(service.stripe)
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-lost-hook", amounts: [2500])
            // Stripe's webhooks stop reaching us.
            try await stripe.control(.PUT, "/_sim/config", ["webhookUrl": "http://127.0.0.1:9/nowhere"])
            let intent = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-lost-hook", roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            let payment = try #require(try intent.json()["paymentId"] as? String)
            let confirmed = try await service.call(
                .post, "/api/v1/payments/confirm", as: "buyer-lost-hook", roles: ["buyer"],
                body: ["paymentId": JSONValue.string(payment), "paymentMethod": "pm_card_visa"])
            #expect(confirmed.status == .ok, "\(confirmed.text)")
            #expect(try await service.paymentStatus(checkout: checkout) != "succeeded")

            let refused = try await override(service, payment, "failed")
            #expect(refused.status == .conflict)
            #expect(refused.text.contains("succeeded"), "\(refused.text)")
            #expect(try await service.outboxCount("payment.failed") == 0)

            #expect(try await override(service, payment, "succeeded").status == .ok)
            #expect(try await service.paymentStatus(checkout: checkout) == "succeeded")
            #expect(try await service.outboxCount("payment.succeeded") == 1)
            #expect(try await service.database.count("SELECT count(*) FROM payments WHERE charge_id LIKE 'ch_%'") == 1)
            #expect(try await override(service, payment, "succeeded").status == .conflict)
            #expect(try await service.outboxCount("payment.succeeded") == 1)
        }
    }

    @Test func aPaymentWithoutAnIntentCanBeCancelledButNotSucceeded() async throws {
        try await ServiceHarness.payments { service in
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-gone")
            let payment = try await service.database.client.query(
                "SELECT id FROM payments WHERE checkout_id = \(checkout)", logger: TestEnvironment.logger
            ).decode(UUID.self).all()[0].uuidString
            let refused = try await override(service, payment, "succeeded")
            #expect(refused.status == .conflict && refused.text.contains("no intent"), "\(refused.text)")
            #expect(try await override(service, payment, "cancelled").status == .ok)
            #expect(try await service.paymentStatus(checkout: checkout) == "cancelled")
            #expect(try await override(service, UUID().uuidString, "cancelled").status == .notFound)
        }
    }
}
