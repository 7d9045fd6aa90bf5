import AsyncHTTPClient
import EventContracts
import Foundation
import NIOCore
import Testing
import TestSupport

@testable import PaymentService

/// PaymentService in `stripe` mode against localstripe: real HTTP, real intents, and
/// localstripe's own signed webhooks reaching our endpoint.
@Suite struct LocalstripeTests {
    static let webhookSecret = "whsec_localstripe_tests"

    static func run(_ body: @Sendable (ServiceHarness) async throws -> Void) async throws {
        try await ServiceHarness.run(
            .paymentService, topics: [Topic.orders, Topic.payments, Topic.escrow],
            environment: [
                "STRIPE_SECRET_KEY": "sk_test_localstripe", "STRIPE_API_BASE": TestEnvironment.localstripeURL,
                "STRIPE_TRANSFER_GROUP": "0", "STRIPE_WEBHOOK_SECRET": webhookSecret,
            ]
        ) { service in
            let port = try service.port.orThrow("live port")
            // localstripe posts every event to every registered webhook; ours signs with our secret.
            try await Self.form(
                "/_config/webhooks/\(TestEnvironment.uniqueName("wh"))",
                ["url": "http://127.0.0.1:\(port)/api/v1/stripe/webhook", "secret": webhookSecret])
            try await body(service)
        }
    }

    /// A POST to localstripe; returns the JSON object it answers.
    @discardableResult
    static func form(_ path: String, _ fields: [String: String]) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: TestEnvironment.localstripeURL + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer sk_test_localstripe")
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let body = fields.map { "\($0.key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }
            .joined(separator: "&")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw HarnessError("localstripe \(path): \(response.status.code) \(String(buffer: bytes))")
        }
        return (try? JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any]) ?? [:]
    }

    static func get(_ path: String) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: TestEnvironment.localstripeURL + path)
        request.headers.add(name: "Authorization", value: "Bearer sk_test_localstripe")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (try? JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any]) ?? [:]
    }

    /// A PaymentMethod from a test card number (localstripe takes none of Stripe's pm_card_* ids).
    static func paymentMethod(card: String) async throws -> String {
        try (try await form(
            "/v1/payment_methods",
            ["type": "card", "card[number]": card, "card[exp_month]": "12", "card[exp_year]": "2034", "card[cvc]": "123"]
        )["id"] as? String).orThrow("payment method id")
    }

    @Test func anIntentIsCreatedConfirmedAndSettledByLocalstripesSignedWebhook() async throws {
        try await Self.run { service in
            let (checkout, orders) = try await service.announceCheckout(buyer: "buyer-ls")
            let intent = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-ls", roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            #expect(intent.status == .ok)
            let json = try intent.json()
            let intentId = try (json["intentId"] as? String).orThrow("intentId")
            #expect(intentId.hasPrefix("pi_"))
            #expect((json["clientSecret"] as? String)?.hasPrefix(intentId) == true)
            let again = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-ls", roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            #expect(try again.json()["intentId"] as? String == intentId)

            let method = try await Self.paymentMethod(card: "4242424242424242")
            let confirm = try await service.call(
                .post, "/api/v1/payments/confirm", as: "buyer-ls", roles: ["buyer"],
                body: ["paymentId": .string(try (json["paymentId"] as? String).orThrow("paymentId")), "paymentMethod": JSONValue.string(method)])
            #expect(confirm.status == .ok)
            #expect(try confirm.json()["intentStatus"] as? String == "succeeded")
            // The outcome is taken from localstripe's webhook, about a second later.
            #expect(try await service.eventually { try await service.paymentStatus(checkout: checkout) == "succeeded" })
            #expect(try await service.outboxCount("payment.succeeded") == 1)
            let charge = try await service.database.client.query(
                "SELECT charge_id FROM payments WHERE checkout_id = \(checkout)", logger: TestEnvironment.logger
            ).decode(String?.self).all().first ?? nil
            #expect(charge?.hasPrefix("ch_") == true)

            // A partial refund goes to localstripe with the charge and the refund's own key.
            let payment = try (json["paymentId"] as? String).orThrow("paymentId")
            let refund = try await service.refund(payment, order: orders[0], amount: 1000)
            #expect(refund.status == .accepted)
            #expect(try await service.eventually { try await service.outboxCount("refund.succeeded") == 1 })
            let stripeRefund = try await service.database.client.query(
                "SELECT stripe_refund_id FROM refunds", logger: TestEnvironment.logger
            ).decode(String?.self).all().first ?? nil
            #expect(stripeRefund?.hasPrefix("re_") == true)
            let answer = try await Self.get("/v1/refunds/\(try stripeRefund.orThrow("refund id"))")
            #expect(answer["amount"] as? Int == 1000)
            #expect(answer["charge"] as? String == charge)
        }
    }

    /// Store credit first: localstripe's intent is for the card's part only, and a refund of an
    /// order goes back in the same proportions (the card's part through localstripe).
    @Test func storeCreditLeavesTheCardTheRestAtLocalstripe() async throws {
        try await Self.run { service in
            let (checkout, orders) = try await service.announceCheckout(buyer: "buyer-lsw", amounts: [3000, 1999])
            let reply = try await service.createIntent(buyer: "buyer-lsw", checkout: checkout, useWallet: true, walletAmount: 2000)
            #expect(reply.status == .ok, "\(reply.text)")
            let json = try reply.json()
            let intentId = try (json["intentId"] as? String).orThrow("intentId")
            #expect(try await Self.get("/v1/payment_intents/\(intentId)")["amount"] as? Int == 2999)
            let payment = try (json["paymentId"] as? String).orThrow("paymentId")
            let method = try await Self.paymentMethod(card: "4242424242424242")
            let confirm = try await service.call(
                .post, "/api/v1/payments/confirm", as: "buyer-lsw", roles: ["buyer"],
                body: ["paymentId": .string(payment), "paymentMethod": JSONValue.string(method)])
            #expect(confirm.status == .ok, "\(confirm.text)")
            #expect(try await service.eventually { try await service.paymentStatus(checkout: checkout) == "succeeded" })
            #expect(try await service.outboxPayloads(PaymentSucceeded.self).first?.walletAmount == 2000)

            // The first order (3,000) was paid 1,200 by store credit and 1,800 by card.
            let refund = try await service.refund(payment, order: orders[0], amount: 3000)
            #expect(refund.status == .accepted, "\(refund.text)")
            #expect(try await service.eventually { try await service.outboxCount("refund.succeeded") == 2 })
            let refunds = try await service.outboxPayloads(RefundSucceeded.self)
            #expect(refunds.map(\.amount).sorted() == [1200, 1800] && refunds.compactMap(\.walletAmount) == [1200])
            let stripeRefund = try await service.database.client.query(
                "SELECT stripe_refund_id FROM refunds WHERE stripe_refund_id IS NOT NULL", logger: TestEnvironment.logger
            ).decode(String.self).all()
            #expect(stripeRefund.count == 1)
            #expect(try await Self.get("/v1/refunds/\(try stripeRefund.first.orThrow("refund id"))")["amount"] as? Int == 1800)
        }
    }

    @Test func aCardDeclinedOnChargeIs402AndFailsThePaymentThroughTheWebhook() async throws {
        try await Self.run { service in
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-ls-decline")
            let intent = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-ls-decline", roles: ["buyer"],
                body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            let paymentId = try (intent.json()["paymentId"] as? String).orThrow("paymentId")
            let method = try await Self.paymentMethod(card: "4000000000000341")
            let confirm = try await service.call(
                .post, "/api/v1/payments/confirm", as: "buyer-ls-decline", roles: ["buyer"],
                body: ["paymentId": .string(paymentId), "paymentMethod": JSONValue.string(method)])
            #expect(confirm.status.code == 402)
            #expect(try await service.eventually { try await service.paymentStatus(checkout: checkout) == "failed" })
            #expect(try await service.outboxCount("payment.failed") == 1)
        }
    }

    /// The buyer's customer is created at localstripe on first need, and a card the client made
    /// there is attached, listed with what Stripe shows of it, made the default and detached.
    @Test func aBuyersCustomerIsCreatedAndACardAttachedListedMadeDefaultAndDetached() async throws {
        try await Self.run { service in
            let method = try await Self.paymentMethod(card: "4242424242424242")
            let saved = try await service.saveCard(method, buyer: "buyer-ls-cards")
            #expect(saved["id"] as? String == method)
            #expect(saved["brand"] as? String == "visa" && saved["last4"] as? String == "4242")
            #expect(saved["expMonth"] as? Int == 12 && saved["expYear"] as? Int == 2034)
            let customer = try #require(try await service.customerId("buyer-ls-cards"))
            let atLocalstripe = try await Self.get("/v1/customers/\(customer)")
            #expect((atLocalstripe["metadata"] as? [String: Any])?["buyer_id"] as? String == "buyer-ls-cards")
            #expect(try await Self.get("/v1/payment_methods/\(method)")["customer"] as? String == customer)

            // A second save reuses the customer; without a payment method the client gets a SetupIntent to confirm.
            let pending = try await service.call(.post, "/api/v1/payment-methods", as: "buyer-ls-cards", roles: ["buyer"], body: [String: String]())
            #expect(pending.status == .created)
            #expect((try pending.json()["clientSecret"] as? String)?.hasPrefix("seti_") == true)
            #expect(try await service.customerId("buyer-ls-cards") == customer)

            let chosen = try await service.call(.post, "/api/v1/payment-methods/\(method)/default", as: "buyer-ls-cards", roles: ["buyer"])
            #expect(chosen.status == .ok)
            let cards = try await service.savedCards("buyer-ls-cards")
            #expect(cards.map { $0["id"] as? String } == [method] && cards.first?["default"] as? Bool == true)
            let other = try await service.call(.delete, "/api/v1/payment-methods/\(method)", as: "buyer-ls-other", roles: ["buyer"])
            #expect(other.status == .notFound)

            let removed = try await service.call(.delete, "/api/v1/payment-methods/\(method)", as: "buyer-ls-cards", roles: ["buyer"])
            #expect(removed.status == .noContent)
            #expect(try await service.savedCards("buyer-ls-cards").isEmpty)
            #expect(try await Self.get("/v1/payment_methods/\(method)")["customer"] is NSNull)
        }
    }
}
