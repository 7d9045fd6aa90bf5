import EventContracts
import Foundation
import StripeClient
import Testing
import TestSupport

@testable import EscrowService

/// Store credit spent at checkout, as PaymentService asks for it: a hold per payment (never more
/// than the wallet has), spent into the escrows when the payment succeeds, given back when it does
/// not, and refunds of store credit back to the wallet. Every step balanced in the ledger.
@Suite struct WalletSpendTests {
    struct Grant: Encodable { var amount: Int64; var currency: String; var reason: String }

    func grant(_ service: ServiceHarness, _ buyer: String, _ amount: Int64) async throws {
        let reply = try await service.call(
            .post, "/api/v1/admin/wallets/\(buyer)/credits", as: "ops", roles: ["admin"],
            body: Grant(amount: amount, currency: "usd", reason: "test credit"), idempotencyKey: "grant-\(buyer)-\(amount)")
        try #require(reply.status == .created, "\(reply.text)")
    }

    /// The amounts of the service's `wallet.held` events for a payment.
    func held(_ service: ServiceHarness, _ payment: UUID) async throws -> [Int] {
        try await service.database.client.query(
            """
            SELECT (convert_from(envelope, 'UTF8')::jsonb #>> '{payload,amount}')::int FROM outbox
            WHERE event_type = 'wallet.held' AND message_key = \(payment.uuidString.lowercased())
            """, logger: TestEnvironment.logger
        ).decode(Int.self).all()
    }

    func hold(_ service: ServiceHarness, payment: UUID, checkout: UUID = UUID(), buyer: String, maximum: Int64) async throws {
        let request = WalletHoldRequested(paymentId: payment, checkoutId: checkout, buyerId: buyer, maximum: maximum, currency: "usd")
        try await service.publish(request, topic: Topic.payments, aggregateId: payment.uuidString.lowercased())
    }

    @Test func aHeldWalletFundsTheEscrowsAndTheirReleaseHasNoSourceCharge() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            try await grant(service, "buyer-s", 3000)
            // Two payments ask for more than there is: the first gets it all, the second nothing.
            let payment = UUID()
            let other = UUID()
            try await hold(service, payment: payment, buyer: "buyer-s", maximum: 5000)
            #expect(try await service.eventually { try await held(service, payment) == [3000] })
            try await hold(service, payment: other, buyer: "buyer-s", maximum: 800)
            #expect(try await service.eventually { try await held(service, other) == [0] })
            #expect(try await driver.balance("buyer_wallet:buyer-s") == 0)
            #expect(try await driver.balance("wallet_held:\(payment.uuidString.lowercased())") == 3000)

            // The card pays the other 2,000 of the 5,000.
            let orders = [UUID(), UUID()]
            let succeeded = PaymentSucceeded(
                paymentId: payment, checkoutId: UUID(), chargeId: try await driver.charge(2000), amount: 5000, currency: "usd",
                orders: [.init(orderId: orders[0], sellerId: "seller-a", amount: 2000), .init(orderId: orders[1], sellerId: "seller-b", amount: 3000)],
                buyerId: "buyer-s", walletAmount: 3000)
            try await service.publish(succeeded, topic: Topic.payments, aggregateId: payment.uuidString.lowercased())
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM escrows") == 2 })
            // The credit is split like the amount: 1,200 and 1,800.
            let shares = try await service.database.client.query(
                "SELECT wallet_amount FROM escrows WHERE order_id = ANY(\(orders)) ORDER BY gross_amount", logger: TestEnvironment.logger
            ).decode(Int64.self).all()
            #expect(shares == [1200, 1800])
            #expect(try await driver.balance("wallet_held:\(payment.uuidString.lowercased())") == 0)
            #expect(try await driver.balance("gateway_clearing") == -2000)
            #expect(try await service.database.count("SELECT count(*) FROM wallet_holds WHERE status = 'spent'") == 1)
            // Reconciliation expects the charge to be the card's part only.
            let report = try await service.call(.post, "/api/v1/admin/reconciliation", as: "ops", roles: ["admin"]).json()
            #expect((report["discrepancies"] as? [Any])?.count == 0, "\(report)")

            // Released: the transfer pays from the platform's balance, not from the card's charge.
            _ = try await driver.onboard("seller-a")
            try await driver.order("order.delivered", orders[0], seller: "seller-a", buyer: "buyer-s")
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*) FROM gateway_commands WHERE kind = 'release_transfer'") == 1
            })
            #expect(try await service.database.count(
                "SELECT count(*) FROM gateway_commands WHERE kind = 'release_transfer' AND parameters ? 'source_transaction'") == 0)
            try await driver.expectBalanced()
        }
    }

    @Test func aHoldGoesBackWhenThePaymentFailsOrItsCheckoutExpires() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            try await grant(service, "buyer-f", 1000)
            let failing = UUID()
            try await hold(service, payment: failing, buyer: "buyer-f", maximum: 400)
            #expect(try await service.eventually { try await held(service, failing) == [400] })
            #expect(try await driver.balance("buyer_wallet:buyer-f") == 600)
            let failed = PaymentFailed(paymentId: failing, checkoutId: UUID(), reason: "card_declined")
            try await service.publish(failed, topic: Topic.payments, aggregateId: failing.uuidString.lowercased())
            try await service.publish(failed, topic: Topic.payments, aggregateId: failing.uuidString.lowercased())
            #expect(try await service.eventually { try await driver.balance("buyer_wallet:buyer-f") == 1000 })

            // The checkout's orders expire unpaid: the hold goes back, and one asked later takes nothing.
            let checkout = UUID()
            let abandoned = UUID()
            try await hold(service, payment: abandoned, checkout: checkout, buyer: "buyer-f", maximum: 700)
            #expect(try await service.eventually { try await held(service, abandoned) == [700] })
            try await publishCancelledUnpaid(service, checkout: checkout, buyer: "buyer-f")
            #expect(try await service.eventually { try await driver.balance("buyer_wallet:buyer-f") == 1000 })
            let late = UUID()
            try await hold(service, payment: late, checkout: checkout, buyer: "buyer-f", maximum: 700)
            #expect(try await service.eventually { try await held(service, late) == [0] })
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await driver.balance("buyer_wallet:buyer-f") == 1000)
            #expect(try await service.database.count("SELECT count(*) FROM wallet_holds WHERE status = 'returned'") == 2)
            try await driver.expectBalanced()
        }
    }

    @Test func aRefundReturnsTheStoreCreditPartToTheWallet() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            try await grant(service, "buyer-r", 1000)
            let payment = UUID()
            try await hold(service, payment: payment, buyer: "buyer-r", maximum: 1000)
            #expect(try await service.eventually { try await held(service, payment) == [1000] })
            let order = UUID()
            let succeeded = PaymentSucceeded(
                paymentId: payment, checkoutId: UUID(), chargeId: "ch_card_part", amount: 2500, currency: "usd",
                orders: [.init(orderId: order, sellerId: "seller-r", amount: 2500)], buyerId: "buyer-r", walletAmount: 1000)
            try await service.publish(succeeded, topic: Topic.payments, aggregateId: payment.uuidString.lowercased())
            #expect(try await driver.waitFor(order, status: "held"))
            // PaymentService refunded all of it: 1,000 to the wallet, then 1,500 to the card.
            let toWallet = RefundSucceeded(
                refundId: UUID(), paymentId: payment, orderId: order, amount: 1000, currency: "usd", orderFullyRefunded: false, walletAmount: 1000)
            let toCard = RefundSucceeded(refundId: UUID(), paymentId: payment, orderId: order, amount: 1500, currency: "usd", orderFullyRefunded: true)
            try await service.publish(toWallet, topic: Topic.payments, aggregateId: payment.uuidString.lowercased())
            try await service.publish(toCard, topic: Topic.payments, aggregateId: payment.uuidString.lowercased())
            #expect(try await driver.waitFor(order, status: "refunded"))
            #expect(try await driver.balance("buyer_wallet:buyer-r") == 1000)
            #expect(try await driver.balance("buyer_refunds") == 1500)
            #expect(try await service.database.count("SELECT wallet_refunded::int FROM escrows WHERE order_id = \(order)") == 1000)
            try await driver.expectBalanced()
        }
    }

    @Test func reconciliationHoldsEachTopUpAgainstItsCharge() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let charge = try await EscrowDriver(service: service).charge(2500)
            let good = WalletToppedUp(topUpId: UUID(), buyerId: "buyer-rc", amount: 2500, currency: "usd", chargeId: charge)
            try await service.publish(good, topic: Topic.payments, aggregateId: good.topUpId.uuidString)
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM wallet_top_ups") == 1 })
            let clean = try await service.call(.post, "/api/v1/admin/reconciliation", as: "ops", roles: ["admin"]).json()
            #expect((clean["discrepancies"] as? [Any])?.count == 0, "\(clean)")
            // A top-up credited for more than its charge took: reconciliation says so.
            let wrong = WalletToppedUp(topUpId: UUID(), buyerId: "buyer-rc", amount: 3000, currency: "usd", chargeId: charge)
            try await service.publish(wrong, topic: Topic.payments, aggregateId: wrong.topUpId.uuidString)
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM wallet_top_ups") == 2 })
            let report = try await service.call(.post, "/api/v1/admin/reconciliation", as: "ops", roles: ["admin"]).json()
            let found = try #require(report["discrepancies"] as? [[String: Any]])
            #expect(found.count == 1 && found.first?["kind"] as? String == "top-up" && found.first?["reference"] as? String == charge, "\(report)")
        }
    }

    /// `order.cancelled` for an order that expired before payment, as OrderService publishes it.
    func publishCancelledUnpaid(_ service: ServiceHarness, checkout: UUID, buyer: String) async throws {
        let order = UUID()
        let snapshot = OrderSnapshot(
            orderId: order, orderNumber: "EM-\(order.uuidString.prefix(6))", checkoutId: checkout, buyerId: buyer, buyerEmail: nil,
            sellerId: "seller-x", status: "cancelled", currency: "usd", subtotalAmount: 700, totalAmount: 700, items: [],
            shippingAddress: ShippingAddress(name: "A", line1: "1", line2: nil, city: "C", postalCode: "1", country: "US"),
            carrier: nil, trackingNumber: nil)
        let envelope = EventEnvelope(
            id: UUID(), type: "order.cancelled", aggregateType: "order", aggregateId: order.uuidString.lowercased(), correlationId: "test",
            producer: "order-service",
            payload: try JSONValue(encoding: OrderEvent(order: snapshot, fromStatus: "pending_payment", actor: "system", reason: "expired", refundRequired: false)))
        try await service.publish(envelope: envelope, topic: Topic.orders)
    }
}
