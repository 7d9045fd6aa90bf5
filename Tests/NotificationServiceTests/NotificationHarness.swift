import EventContracts
import Foundation
import TestSupport

@testable import NotificationService

extension ServiceHarness {
    /// NotificationService on its own topics, mailing `sink`, with a fast delivery loop and retries.
    static func notifications(
        sink: MailSink = .shared, environment: [String: String] = [:], _ body: @Sendable (ServiceHarness) async throws -> Void
    ) async throws {
        let settings = [
            "NOTIFY_LOOP_INTERVAL_MS": "100", "NOTIFY_RETRY_BASE_SECONDS": "1", "NOTIFY_RETRY_MAX_SECONDS": "1",
            "SMTP_TIMEOUT_SECONDS": "5", "NOTIFY_ADMIN_EMAIL": "ops-\(UUID().uuidString.prefix(8))@escrowmarket.test",
        ]
        try await run(
            .notificationService, topics: [Topic.orders, Topic.payments, Topic.escrow],
            environment: settings.merging(sink.environment) { _, new in new }.merging(environment) { _, new in new }, body)
    }

    /// Publishes an order event (`order.placed`, `order.paid`, …) with the order's snapshot.
    func publishOrder(
        _ type: String, _ order: OrderSnapshot, autoConfirmAt: Date? = nil, id: UUID = UUID(), occurredAt: Date = Date()
    ) async throws {
        var order = order
        order.status = String(type.dropFirst("order.".count)).replacingOccurrences(of: "placed", with: "pending_payment")
        let event = OrderEvent(order: order, fromStatus: nil, actor: "tests", reason: nil, autoConfirmAt: autoConfirmAt)
        try await publish(
            envelope: EventEnvelope(
                id: id, type: type, aggregateType: OrderEvent.aggregateType, aggregateId: order.orderId.uuidString.lowercased(),
                occurredAt: occurredAt, correlationId: "test", producer: "tests", payload: try JSONValue(encoding: event)),
            topic: Topic.orders)
    }

    /// The notifications of a kind and their statuses.
    func notificationStatuses(_ kind: String) async throws -> [String] {
        try await database.client.query(
            "SELECT status FROM notifications WHERE kind = \(kind) ORDER BY created_at", logger: TestEnvironment.logger
        ).decode(String.self).all()
    }
}

/// Orders, checkouts and payments as the other services would describe them.
struct Fixture: Sendable {
    let buyer = "buyer-\(UUID().uuidString.prefix(8).lowercased())"
    let seller = "seller-\(UUID().uuidString.prefix(8).lowercased())"
    var buyerEmail: String { "\(buyer)@example.test" }
    var sellerEmail: String { "\(seller)@example.test" }
    let checkoutId = UUID()

    func order(
        number: String = "EM-\(Int.random(in: 100_000...999_999))", currency: String = "usd",
        items: [(String, Int, Int64)] = [("Walnut desk", 1, 120_000), ("Brass lamp", 2, 1_728)]
    ) -> OrderSnapshot {
        let lines = items.map {
            OrderLine(listingId: UUID(), title: $0.0, quantity: $0.1, unitPriceAmount: $0.2, lineTotalAmount: $0.2 * Int64($0.1))
        }
        let total = lines.reduce(0) { $0 + $1.lineTotalAmount }
        return OrderSnapshot(
            orderId: UUID(), orderNumber: number, checkoutId: checkoutId, buyerId: buyer, buyerEmail: buyerEmail, sellerId: seller,
            status: "pending_payment", currency: currency, subtotalAmount: total, totalAmount: total, items: lines,
            shippingAddress: ShippingAddress(name: "Ada Buyer", line1: "1 Main St", line2: nil, city: "Springfield", postalCode: "12345", country: "us"),
            carrier: nil, trackingNumber: nil, sellerEmail: sellerEmail)
    }

    func checkout(_ orders: [OrderSnapshot]) -> CheckoutCreated {
        CheckoutCreated(
            checkoutId: checkoutId, buyerId: buyer, buyerEmail: buyerEmail, currency: orders[0].currency,
            totalAmount: orders.reduce(0) { $0 + $1.totalAmount },
            orders: orders.map { .init(orderId: $0.orderId, orderNumber: $0.orderNumber, sellerId: $0.sellerId, totalAmount: $0.totalAmount) },
            expiresAt: Date().addingTimeInterval(1800))
    }

    func payment(_ orders: [OrderSnapshot], id: UUID = UUID()) -> PaymentSucceeded {
        PaymentSucceeded(
            paymentId: id, checkoutId: checkoutId, chargeId: "ch_test", amount: orders.reduce(0) { $0 + $1.totalAmount },
            currency: orders[0].currency, orders: orders.map { .init(orderId: $0.orderId, sellerId: $0.sellerId, amount: $0.totalAmount) },
            buyerId: buyer)
    }
}
