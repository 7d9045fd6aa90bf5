import EventContracts
import Foundation

/// An order as stored, with what the API and events show of it.
struct Order: Sendable, Equatable {
    var id: UUID
    var orderNumber: String
    var checkoutId: UUID
    var buyerId: String
    var buyerEmail: String?
    var sellerId: String
    var sellerEmail: String?
    var status: OrderStatus
    var currency: String
    var subtotalAmount: Int64
    var totalAmount: Int64
    var shippingAddress: ShippingAddress
    var carrier: String?
    var trackingNumber: String?
    var expiresAt: Date
    var autoConfirmAt: Date?
    var createdAt: Date
    var updatedAt: Date
    var items: [OrderLine]

    func snapshot() -> OrderSnapshot {
        OrderSnapshot(
            orderId: id, orderNumber: orderNumber, checkoutId: checkoutId, buyerId: buyerId, buyerEmail: buyerEmail,
            sellerId: sellerId, status: status.rawValue, currency: currency, subtotalAmount: subtotalAmount,
            totalAmount: totalAmount, items: items, shippingAddress: shippingAddress, carrier: carrier,
            trackingNumber: trackingNumber, sellerEmail: sellerEmail)
    }

    /// Who may see this order: its buyer, its seller, or an admin (others get 404).
    func isVisible(to userId: String, isAdmin: Bool) -> Bool {
        isAdmin || userId == buyerId || userId == sellerId
    }
}

/// Who or what caused a change, carried into the history and the event.
struct Cause: Sendable {
    /// `buyer:<id>`, `seller:<id>`, `admin:<id>`, `system`, or the event that caused it.
    var actor: String
    var reason: String?
    var correlationId: String
    var causationId: String?

    static func system(_ reason: String, correlationId: String = UUID().uuidString.lowercased()) -> Cause {
        Cause(actor: "system", reason: reason, correlationId: correlationId, causationId: nil)
    }
}
