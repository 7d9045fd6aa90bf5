import EventContracts
import Foundation
import StripeClient
import Testing
import TestSupport

@testable import EscrowService

/// Drives EscrowService as the other services would: payments, order events, account updates.
struct EscrowDriver {
    let service: ServiceHarness

    static let topics = [Topic.payments, Topic.orders, Topic.escrow]

    /// A paid checkout of one order per (seller, amount), charged for real at the test's Stripe
    /// simulator (transfers are funded by that charge); waits until its escrows are open.
    @discardableResult
    func pay(_ parts: [(order: UUID, seller: String, amount: Int64)], buyer: String = "buyer-1", currency: String = "usd") async throws -> PaymentSucceeded {
        let checkout = UUID()
        let amount = parts.reduce(0) { $0 + $1.amount }
        let chargeId = try await charge(amount, currency: currency, transferGroup: checkout.uuidString.lowercased())
        let payment = PaymentSucceeded(
            paymentId: UUID(), checkoutId: checkout, chargeId: chargeId, amount: amount, currency: currency,
            orders: parts.map { .init(orderId: $0.order, sellerId: $0.seller, amount: $0.amount) }, buyerId: buyer)
        let before = try await service.database.count("SELECT count(*) FROM escrows")
        try await service.publish(payment, topic: Topic.payments, aggregateId: payment.paymentId.uuidString.lowercased())
        try #require(try await service.eventually { try await service.database.count("SELECT count(*) FROM escrows") == before + parts.count })
        return payment
    }

    /// A card charge of `amount` at the test's Stripe simulator; returns its id.
    func charge(_ amount: Int64, currency: String = "usd", transferGroup: String? = nil) async throws -> String {
        var fields: [(String, StripeFormValue)] = [
            ("amount", .integer(amount)), ("currency", .string(currency)), ("payment_method_types", .array(["card"])),
            ("payment_method", .string("pm_card_visa")), ("confirm", .string("true")),
        ]
        if let transferGroup { fields.append(("transfer_group", .string(transferGroup))) }
        let intent: PaymentIntent = try await stripe.client().post(
            "/v1/payment_intents", fields, idempotencyKey: "test-charge-\(UUID().uuidString.lowercased())")
        return try #require(intent.chargeId)
    }

    /// The test's Stripe simulator.
    var stripe: SimulatorHarness {
        get throws { try #require(service.stripe) }
    }

    /// A number in the simulator's `GET /_sim/state`, e.g. `gateway("reversals", "amount")` (0 when absent).
    func gateway(_ path: String...) async throws -> Int64 {
        var value: JSONValue? = try await stripe.control(.GET, "/_sim/state")
        for key in path { value = value?[key] }
        return value?.integer ?? 0
    }

    /// The transfers at the gateway (newest first).
    func transfers() async throws -> [Transfer] {
        let page: StripeList<Transfer> = try await stripe.client().get("/v1/transfers?limit=100")
        return page.data
    }

    /// Completes the account's onboarding at the gateway, as the seller would on Stripe's page.
    func onboardAtGateway(_ account: String) async throws {
        try await stripe.control(.POST, "/_sim/accounts/\(account)/onboard", [:])
    }

    /// An order event as OrderService publishes it.
    func order(_ type: String, _ order: UUID, seller: String, buyer: String = "buyer-1", refundRequired: Bool = false, id: UUID = UUID()) async throws {
        let snapshot = OrderSnapshot(
            orderId: order, orderNumber: "EM-\(order.uuidString.prefix(6))", checkoutId: UUID(), buyerId: buyer, buyerEmail: nil,
            sellerId: seller, status: String(type.dropFirst("order.".count)), currency: "usd", subtotalAmount: 0, totalAmount: 0, items: [],
            shippingAddress: ShippingAddress(name: "A", line1: "1", line2: nil, city: "C", postalCode: "1", country: "US"),
            carrier: nil, trackingNumber: nil)
        let envelope = EventEnvelope(
            id: id, type: type, aggregateType: "order", aggregateId: order.uuidString.lowercased(), correlationId: "test",
            producer: "order-service",
            payload: try JSONValue(encoding: OrderEvent(order: snapshot, fromStatus: nil, actor: "test", reason: nil, refundRequired: refundRequired)))
        try await service.publish(envelope: envelope, topic: Topic.orders)
    }

    /// Onboards the seller through the API and reports the account ready, as PaymentService
    /// relays Stripe's `account.updated`; returns the connected account id.
    @discardableResult
    func onboard(_ seller: String, payoutsEnabled: Bool = true) async throws -> String {
        let reply = try await service.call(.post, "/api/v1/sellers/stripe-onboard", as: seller, roles: ["seller"])
        try #require(reply.status == .ok, "\(reply.text)")
        let account = try #require(try reply.json()["accountId"] as? String)
        if payoutsEnabled { try await onboardAtGateway(account) }
        try await service.publish(
            GatewayAccountUpdated(
                accountId: account, chargesEnabled: payoutsEnabled, payoutsEnabled: payoutsEnabled, detailsSubmitted: payoutsEnabled,
                currentlyDue: [], stripeEventId: "evt_\(UUID())", stripeCreated: Int64(Date().timeIntervalSince1970)),
            topic: Topic.payments, aggregateId: account)
        try #require(try await service.eventually {
            try await service.database.count("SELECT count(*) FROM seller_accounts WHERE account_id = \(account) AND payouts_enabled = \(payoutsEnabled)") == 1
        })
        return account
    }

    func status(_ order: UUID) async throws -> String? {
        try await service.database.client.query("SELECT status FROM escrows WHERE order_id = \(order)", logger: TestEnvironment.logger)
            .decode(String.self).all().first
    }

    func waitFor(_ order: UUID, status: String) async throws -> Bool {
        try await service.eventually { try await self.status(order) == status }
    }

    /// A ledger account's balance (credits positive).
    func balance(_ account: String) async throws -> Int {
        try await service.database.count("SELECT COALESCE(-sum(amount), 0)::int FROM journal_entries WHERE account = \(account)")
    }

    /// The whole ledger sums to zero per currency, and every transaction on its own.
    func expectBalanced(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(
            try await service.database.count("SELECT count(*) FROM (SELECT 1 FROM journal_entries GROUP BY currency HAVING sum(amount) <> 0) x") == 0,
            sourceLocation: sourceLocation)
        #expect(
            try await service.database.count(
                "SELECT count(*) FROM (SELECT 1 FROM journal_entries GROUP BY transaction_id, currency HAVING sum(amount) <> 0) x") == 0,
            sourceLocation: sourceLocation)
        // The balances the ledger keeps for the held gauge are the entries' sums, account by account.
        #expect(
            try await service.database.count(
                """
                SELECT count(*) FROM escrow_held_balances b
                FULL JOIN (SELECT account, currency, sum(amount) AS balance FROM journal_entries WHERE account LIKE 'escrow\\_held:%'
                           GROUP BY account, currency) e USING (account, currency)
                WHERE b.balance IS DISTINCT FROM e.balance
                """) == 0,
            sourceLocation: sourceLocation)
    }
}

struct PayoutBody: Encodable {
    var amount: Int64
    var currency: String
}

struct RefundBody: Encodable {
    var amount: Int64
    var reason: String
}
