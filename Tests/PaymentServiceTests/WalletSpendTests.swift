import EventContracts
import Foundation
import Testing
import TestSupport

@testable import PaymentService

extension ServiceHarness {
    /// create-intent, answered by "EscrowService" holding `walletAmount` once the request asked for it.
    func createIntent(buyer: String, checkout: UUID, useWallet: Bool?, walletAmount: Int64) async throws -> HTTPReply {
        let request = Task {
            try await call(
                .post, "/api/v1/payments/create-intent", as: buyer, roles: ["buyer"],
                body: WalletSpendTests.CreateIntent(checkoutId: checkout, useWallet: useWallet))
        }
        let paymentId = try await database.client.query(
            "SELECT id FROM payments WHERE checkout_id = \(checkout)", logger: TestEnvironment.logger
        ).decode(UUID.self).all()[0]
        let asked = try await eventually {
            try await database.count(
                "SELECT count(*) FROM outbox WHERE event_type = 'wallet.hold_requested' AND message_key = \(paymentId.uuidString.lowercased())") == 1
        }
        try #require(asked, "wallet.hold_requested was not published")
        try await publish(
            WalletHeld(paymentId: paymentId, buyerId: buyer, amount: walletAmount, currency: "usd"),
            topic: Topic.escrow, aggregateId: paymentId.uuidString.lowercased())
        return try await request.value
    }

    /// The payloads of the events of one type in the outbox, oldest first.
    func outboxPayloads<Payload: DomainEventPayload>(_ type: Payload.Type) async throws -> [Payload] {
        try await database.client.query(
            "SELECT envelope FROM outbox WHERE event_type = \(Payload.eventType) ORDER BY id", logger: TestEnvironment.logger
        ).decode(Data.self).all().map { try EventEnvelope.decode(from: $0).decodePayload(as: Payload.self) }
    }
}

/// Store credit spent at checkout, against the running service and the simulator, with the test
/// answering for EscrowService (`wallet.held`): the card is charged only what the wallet did not
/// cover, a fully covered payment succeeds with no card, refunds split back to where the money
/// came from, and the flags route it.
@Suite struct WalletSpendTests {
    struct CreateIntent: Encodable {
        var checkoutId: UUID
        var useWallet: Bool?
    }

    @Test func theCardPaysWhatTheWalletDoesNotAndRefundsGoBackToBoth() async throws {
        try await ServiceHarness.payments { service in
            let stripe = try #require(service.stripe)
            let (checkout, orders) = try await service.announceCheckout(buyer: "buyer-ws", amounts: [1000, 1500])
            let reply = try await service.createIntent(buyer: "buyer-ws", checkout: checkout, useWallet: true, walletAmount: 1000)
            #expect(reply.status == .ok, "\(reply.text)")
            let body = try reply.json()
            #expect(body["amount"] as? Int == 2500 && body["walletAmount"] as? Int == 1000 && body["cardAmount"] as? Int == 1500)
            let paymentId = try #require(body["paymentId"] as? String)
            #expect(try await stripe.state("paymentIntents", "byStatus", "requires_payment_method", "amount")?.integer == 1500)
            // A later create-intent (even without the wallet) returns the same intent.
            let again = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-ws", roles: ["buyer"], body: CreateIntent(checkoutId: checkout, useWallet: false))
            #expect(try again.json()["intentId"] as? String == body["intentId"] as? String)

            let confirmed = try await service.call(
                .post, "/api/v1/payments/confirm", as: "buyer-ws", roles: ["buyer"], body: ["paymentId": paymentId, "paymentMethod": "pm_card_visa"])
            #expect(confirmed.status == .ok, "\(confirmed.text)")
            #expect(try await service.eventually { try await service.outboxCount("payment.succeeded") == 1 })
            let succeeded = try await service.outboxPayloads(PaymentSucceeded.self)[0]
            #expect(succeeded.amount == 2500 && succeeded.walletAmount == 1000)

            // The first order (1,000 of 2,500) was paid 400 by the wallet and 600 by the card.
            try await service.publish(
                RefundRequested(requestId: UUID(), orderId: orders[0], amount: 1000, currency: "usd", reason: "cancelled before shipment"),
                topic: Topic.escrow, aggregateId: orders[0].uuidString)
            // Two refunds: the wallet's at once, the card's through the gateway.
            #expect(try await service.eventually { try await service.outboxCount("refund.succeeded") == 2 })
            let refunds = try await service.outboxPayloads(RefundSucceeded.self)
            #expect(refunds.map(\.amount) == [400, 600] && refunds.map(\.walletAmount) == [400, nil])
            #expect(refunds.map(\.orderFullyRefunded) == [false, true])
            #expect(try await stripe.state("refunds", "byStatus", "succeeded", "amount")?.integer == 600)
            #expect(try await service.database.count("SELECT amount_refunded::int FROM payments WHERE id = \(UUID(uuidString: paymentId)!)") == 1000)
        }
    }

    @Test func aPaymentTheWalletCoversSucceedsWithNoCardAndItsRefundsNeedNoGateway() async throws {
        try await ServiceHarness.payments { service in
            let stripe = try #require(service.stripe)
            let (checkout, orders) = try await service.announceCheckout(buyer: "buyer-wf", amounts: [700])
            let reply = try await service.createIntent(buyer: "buyer-wf", checkout: checkout, useWallet: true, walletAmount: 700)
            #expect(reply.status == .ok, "\(reply.text)")
            let body = try reply.json()
            #expect(body["intentId"] == nil || body["intentId"] is NSNull)
            #expect(body["status"] as? String == "succeeded" && body["walletAmount"] as? Int == 700 && body["cardAmount"] as? Int == 0)
            #expect(try await stripe.state("paymentIntents", "count")?.integer == 0)
            let succeeded = try await service.outboxPayloads(PaymentSucceeded.self)
            #expect(succeeded.count == 1 && succeeded.first?.walletAmount == 700 && succeeded.first?.chargeId == nil)
            // There is nothing to confirm; asking again returns the paid payment.
            let again = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-wf", roles: ["buyer"], body: CreateIntent(checkoutId: checkout, useWallet: true))
            #expect(try again.json()["status"] as? String == "succeeded")
            #expect(try await service.outboxCount("payment.succeeded") == 1)

            try await service.publish(
                RefundRequested(requestId: UUID(), orderId: orders[0], amount: 300, currency: "usd", reason: "partly damaged"),
                topic: Topic.escrow, aggregateId: orders[0].uuidString)
            #expect(try await service.eventually { try await service.outboxCount("refund.succeeded") == 1 })
            let refund = try await service.outboxPayloads(RefundSucceeded.self)[0]
            #expect(refund.amount == 300 && refund.walletAmount == 300 && !refund.orderFullyRefunded)
            #expect(try await stripe.state("refunds", "count")?.integer == 0)
        }
    }

    /// Asked at checkout (`useWallet` on POST /checkouts): the hold is asked for as soon as the
    /// payment exists, and create-intent, with no word about the wallet, finds it answered.
    @Test func storeCreditAskedForAtCheckoutIsHeldBeforeCreateIntent() async throws {
        try await ServiceHarness.payments { service in
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-wc", amounts: [1200], useWallet: true)
            let paymentId = try await service.database.client.query(
                "SELECT id FROM payments WHERE checkout_id = \(checkout)", logger: TestEnvironment.logger
            ).decode(UUID.self).all()[0]
            #expect(try await service.eventually { try await service.outboxCount("wallet.hold_requested") == 1 })
            try await service.publish(
                WalletHeld(paymentId: paymentId, buyerId: "buyer-wc", amount: 500, currency: "usd"),
                topic: Topic.escrow, aggregateId: paymentId.uuidString.lowercased())
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*) FROM payments WHERE wallet_amount = 500") == 1
            })
            let reply = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-wc", roles: ["buyer"], body: CreateIntent(checkoutId: checkout, useWallet: nil))
            let card = try reply.json()["cardAmount"] as? Int
            #expect(reply.status == .ok && card == 700, "\(reply.text)")
            #expect(try await service.outboxCount("wallet.hold_requested") == 1)
        }
    }

    @Test func theFlagsDecideWhetherTheWalletIsSpent() async throws {
        try await ServiceHarness.payments { service in
            func set(_ flags: [String: Bool]) async throws {
                let reply = try await service.call(
                    .put, "/api/v1/admin/flags", as: "ops", roles: ["admin"],
                    body: ["flags": JSONValue.object(flags.mapValues(JSONValue.bool)), "reason": "test"])
                try #require(reply.status == .ok, "\(reply.text)")
            }
            // wallet.enabled off: asking for the wallet is refused, and nothing is held.
            try await set(["wallet.enabled": false])
            let (off, _) = try await service.announceCheckout(buyer: "buyer-fl", amounts: [900])
            let refused = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-fl", roles: ["buyer"], body: CreateIntent(checkoutId: off, useWallet: true))
            #expect(refused.status == .conflict && refused.text.contains("wallet.enabled"), "\(refused.text)")
            #expect(try await service.outboxCount("wallet.hold_requested") == 0)

            // On, spendFirst off (the default): without useWallet the card pays everything.
            try await set(["wallet.enabled": true])
            let plain = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-fl", roles: ["buyer"], body: CreateIntent(checkoutId: off, useWallet: nil))
            let plainCard = try plain.json()["cardAmount"] as? Int
            #expect(plain.status == .ok && plainCard == 900, "\(plain.text)")
            #expect(try await service.outboxCount("wallet.hold_requested") == 0)

            // spendFirst on: the wallet is spent unless the buyer says otherwise.
            try await set(["wallet.spendFirst": true])
            let (first, _) = try await service.announceCheckout(buyer: "buyer-fl", amounts: [900])
            let spent = try await service.createIntent(buyer: "buyer-fl", checkout: first, useWallet: nil, walletAmount: 250)
            let spentCard = try spent.json()["cardAmount"] as? Int
            #expect(spent.status == .ok && spentCard == 650, "\(spent.text)")
            let (declined, _) = try await service.announceCheckout(buyer: "buyer-fl", amounts: [900])
            let cardOnly = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-fl", roles: ["buyer"], body: CreateIntent(checkoutId: declined, useWallet: false))
            let onlyCard = try cardOnly.json()["cardAmount"] as? Int
            #expect(cardOnly.status == .ok && onlyCard == 900, "\(cardOnly.text)")
            #expect(try await service.outboxCount("wallet.hold_requested") == 1)
        }
    }
}
