import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO

/// An order as the API shows it: items, amounts, status, history, shipping and tracking.
struct OrderResponse: Encodable, Sendable, ResponseEncodable {
    struct HistoryEntry: Encodable, Sendable {
        var fromStatus: String?
        var toStatus: String
        var actor: String
        var reason: String?
        var at: Date
    }

    struct TrackingEntry: Encodable, Sendable {
        var status: String
        var location: String?
        var occurredAt: Date
    }

    var id: UUID
    var orderNumber: String
    var checkoutId: UUID
    var buyerId: String
    var sellerId: String
    var status: String
    var currency: String
    var subtotalAmount: Int64
    var totalAmount: Int64
    var items: [OrderLine]
    var shippingAddress: ShippingAddress
    var carrier: String?
    var trackingNumber: String?
    var expiresAt: Date?
    var autoConfirmAt: Date?
    var createdAt: Date
    var updatedAt: Date
    var history: [HistoryEntry]?
    var tracking: [TrackingEntry]?

    init(_ order: Order, history: [HistoryEntry]? = nil, tracking: [TrackingEntry]? = nil) {
        id = order.id
        orderNumber = order.orderNumber
        checkoutId = order.checkoutId
        buyerId = order.buyerId
        sellerId = order.sellerId
        status = order.status.rawValue
        currency = order.currency
        subtotalAmount = order.subtotalAmount
        totalAmount = order.totalAmount
        items = order.items
        shippingAddress = order.shippingAddress
        carrier = order.carrier
        trackingNumber = order.trackingNumber
        expiresAt = order.status == .pendingPayment ? order.expiresAt : nil
        autoConfirmAt = order.status == .shipped ? order.autoConfirmAt : nil
        createdAt = order.createdAt
        updatedAt = order.updatedAt
        self.history = history
        self.tracking = tracking
    }
}

extension OrderStore {
    /// The order with its history and tracking, for the detail view.
    func detail(_ order: Order, on connection: PostgresConnection) async throws -> OrderResponse {
        let history = try await connection.query(
            "SELECT from_status, to_status, actor, reason, created_at FROM order_history WHERE order_id = \(order.id) ORDER BY id",
            logger: logger
        ).decode((String?, String, String, String?, Date).self).all().map {
            OrderResponse.HistoryEntry(fromStatus: $0.0, toStatus: $0.1, actor: $0.2, reason: $0.3, at: $0.4)
        }
        let tracking = try await connection.query(
            "SELECT status, location, occurred_at FROM order_tracking WHERE order_id = \(order.id) ORDER BY occurred_at, id",
            logger: logger
        ).decode((String, String?, Date).self).all().map {
            OrderResponse.TrackingEntry(status: $0.0, location: $0.1, occurredAt: $0.2)
        }
        return OrderResponse(order, history: history, tracking: tracking)
    }

    /// A buyer's purchases or a seller's sales (all orders for an admin), newest first.
    func list(
        buyerId: String?, sellerId: String?, status: OrderStatus?, after cursor: PageCursor?, limit: Int,
        on connection: PostgresConnection
    ) async throws -> [Order] {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: Self.columns) FROM orders
            WHERE (\(buyerId)::text IS NULL OR buyer_id = \(buyerId))
              AND (\(sellerId)::text IS NULL OR seller_id = \(sellerId))
              AND (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
              AND (\(cursor?.createdAt)::timestamptz IS NULL OR (created_at, id) < (\(cursor?.createdAt), \(cursor?.id)))
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """, logger: logger
        ).collect()
        return try await withItems(try rows.map(Self.decode), on: connection)
    }

    func addTracking(_ orderId: UUID, status: String, location: String?, at: Date, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO order_tracking (order_id, status, location, occurred_at)
            VALUES (\(orderId), \(status), \(location), \(at))
            """, logger: logger)
    }
}
