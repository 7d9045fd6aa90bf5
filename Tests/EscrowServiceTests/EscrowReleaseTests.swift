import EventContracts
import Foundation
import Testing
import TestSupport

@testable import EscrowService

@Suite struct EscrowReleaseTests {
    func delivered(_ order: UUID, seller: String) throws -> EventEnvelope {
        let snapshot = OrderSnapshot(
            orderId: order, orderNumber: "EM-1", checkoutId: UUID(), buyerId: "buyer-r", buyerEmail: nil, sellerId: seller,
            status: "delivered", currency: "usd", subtotalAmount: 5000, totalAmount: 5000, items: [],
            shippingAddress: ShippingAddress(name: "A", line1: "1", line2: nil, city: "C", postalCode: "1", country: "US"),
            carrier: "UPS", trackingNumber: "1Z")
        return EventEnvelope(
            type: "order.delivered", aggregateType: "order", aggregateId: order.uuidString.lowercased(), correlationId: "test",
            producer: "order-service", payload: try JSONValue(encoding: OrderEvent(order: snapshot, fromStatus: "shipped", actor: "buyer:buyer-r", reason: nil)))
    }

    @Test func releaseIsParkedUntilTheSellerCanReceivePayoutsThenHappensOnce() async throws {
        try await ServiceHarness.run(.escrowService, topics: [Topic.payments, Topic.orders, Topic.escrow]) { service in
            let order = UUID()
            try await service.publish(
                PaymentSucceeded(paymentId: UUID(), checkoutId: UUID(), chargeId: "ch_r", amount: 5000, currency: "usd",
                                 orders: [.init(orderId: order, sellerId: "seller-r", amount: 5000)], buyerId: "buyer-r"),
                topic: Topic.payments, aggregateId: UUID().uuidString)
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM escrows") == 1 })

            try await service.publish(envelope: try delivered(order, seller: "seller-r"), topic: Topic.orders)
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM escrows WHERE status = 'parked'") == 1 })
            #expect(try await service.outboxCount("escrow.released") == 0)

            // Onboarding created the account; the gateway then reports it can receive payouts.
            try await service.database.client.query(
                "INSERT INTO seller_accounts (seller_id, account_id) VALUES ('seller-r', 'acct_r')", logger: TestEnvironment.logger)
            let now = Int64(Date().timeIntervalSince1970)
            try await service.publish(
                GatewayAccountUpdated(accountId: "acct_r", chargesEnabled: true, payoutsEnabled: true, detailsSubmitted: true,
                                      currentlyDue: [], stripeEventId: "evt_new", stripeCreated: now),
                topic: Topic.payments, aggregateId: "acct_r")
            #expect(try await service.eventually { try await service.outboxCount("escrow.released") == 1 })

            // An older account report and a second delivery change nothing.
            try await service.publish(
                GatewayAccountUpdated(accountId: "acct_r", chargesEnabled: false, payoutsEnabled: false, detailsSubmitted: false,
                                      currentlyDue: ["external_account"], stripeEventId: "evt_old", stripeCreated: now - 60),
                topic: Topic.payments, aggregateId: "acct_r")
            try await service.publish(envelope: try delivered(order, seller: "seller-r"), topic: Topic.orders)
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM inbox") == 5 })
            #expect(try await service.outboxCount("escrow.released") == 1)
            #expect(try await service.database.count("SELECT count(*) FROM seller_accounts WHERE payouts_enabled") == 1)
            #expect(try await service.database.count("SELECT count(*) FROM escrows WHERE status = 'released' AND transfer_id LIKE 'tr_sim_%'") == 1)

            // The ledger balances; the platform kept its fee and the seller's net is available.
            #expect(try await service.database.count("SELECT count(*) FROM (SELECT currency FROM journal_entries GROUP BY currency HAVING sum(amount) <> 0) x") == 0)
            #expect(try await service.database.count("SELECT -sum(amount)::int FROM journal_entries WHERE account = 'platform_fees'") == 250)
            #expect(try await service.database.count("SELECT -sum(amount)::int FROM journal_entries WHERE account = 'seller_available:seller-r'") == 4750)
            #expect(try await service.database.count("SELECT COALESCE(sum(amount), 0)::int FROM journal_entries WHERE account LIKE 'escrow_held:%'") == 0)

            let status = try await service.call(.get, "/api/v1/sellers/me/stripe-status", as: "seller-r", roles: ["seller"]).json()
            #expect(status["payoutsEnabled"] as? Bool == true)
        }
    }
}
