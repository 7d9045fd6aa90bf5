import Foundation

/// A postal address as the buyer entered it.
public struct ShippingAddress: Codable, Sendable, Equatable {
    public var name: String
    public var line1: String
    public var line2: String?
    public var city: String
    public var postalCode: String
    public var country: String

    public init(name: String, line1: String, line2: String?, city: String, postalCode: String, country: String) {
        self.name = name
        self.line1 = line1
        self.line2 = line2
        self.city = city
        self.postalCode = postalCode
        self.country = country
    }
}

/// One line of an order, priced by the server from the listing.
public struct OrderLine: Codable, Sendable, Equatable {
    public var listingId: UUID
    public var title: String
    public var quantity: Int
    public var unitPriceAmount: Int64
    public var lineTotalAmount: Int64

    public init(listingId: UUID, title: String, quantity: Int, unitPriceAmount: Int64, lineTotalAmount: Int64) {
        self.listingId = listingId
        self.title = title
        self.quantity = quantity
        self.unitPriceAmount = unitPriceAmount
        self.lineTotalAmount = lineTotalAmount
    }
}

/// `checkout.created`: one payment will cover every order of the checkout.
public struct CheckoutCreated: DomainEventPayload, Equatable {
    public static let eventType = "checkout.created"
    public static let schemaVersion = 1
    public static let aggregateType = "checkout"

    public struct Part: Codable, Sendable, Equatable {
        public var orderId: UUID
        public var orderNumber: String
        public var sellerId: String
        public var totalAmount: Int64

        public init(orderId: UUID, orderNumber: String, sellerId: String, totalAmount: Int64) {
            self.orderId = orderId
            self.orderNumber = orderNumber
            self.sellerId = sellerId
            self.totalAmount = totalAmount
        }
    }

    public var checkoutId: UUID
    public var buyerId: String
    public var buyerEmail: String?
    public var currency: String
    public var totalAmount: Int64
    public var orders: [Part]
    public var expiresAt: Date
    /// The buyer asked at checkout to spend store credit first (absent: not said).
    public var useWallet: Bool?

    public init(
        checkoutId: UUID, buyerId: String, buyerEmail: String?, currency: String, totalAmount: Int64, orders: [Part],
        expiresAt: Date, useWallet: Bool? = nil
    ) {
        self.checkoutId = checkoutId
        self.buyerId = buyerId
        self.buyerEmail = buyerEmail
        self.currency = currency
        self.totalAmount = totalAmount
        self.orders = orders
        self.expiresAt = expiresAt
        self.useWallet = useWallet
    }
}

/// Everything other services need to know about an order, so they never call OrderService.
public struct OrderSnapshot: Codable, Sendable, Equatable {
    public var orderId: UUID
    public var orderNumber: String
    public var checkoutId: UUID
    public var buyerId: String
    public var buyerEmail: String?
    public var sellerId: String
    public var status: String
    public var currency: String
    public var subtotalAmount: Int64
    public var totalAmount: Int64
    public var items: [OrderLine]
    public var shippingAddress: ShippingAddress
    public var carrier: String?
    public var trackingNumber: String?
    /// The seller's address as their token had it when the listing was created (for email).
    public var sellerEmail: String?

    public init(
        orderId: UUID, orderNumber: String, checkoutId: UUID, buyerId: String, buyerEmail: String?, sellerId: String,
        status: String, currency: String, subtotalAmount: Int64, totalAmount: Int64, items: [OrderLine],
        shippingAddress: ShippingAddress, carrier: String?, trackingNumber: String?, sellerEmail: String? = nil
    ) {
        self.orderId = orderId
        self.orderNumber = orderNumber
        self.checkoutId = checkoutId
        self.buyerId = buyerId
        self.buyerEmail = buyerEmail
        self.sellerId = sellerId
        self.status = status
        self.currency = currency
        self.subtotalAmount = subtotalAmount
        self.totalAmount = totalAmount
        self.items = items
        self.shippingAddress = shippingAddress
        self.carrier = carrier
        self.trackingNumber = trackingNumber
        self.sellerEmail = sellerEmail
    }
}

/// Every order event (`order.placed`, `order.paid`, `order.shipped`, `order.delivered`,
/// `order.completed`, `order.cancelled`, `order.disputed`, `order.refunded`,
/// `order.tracking_updated`): the order as it now is, plus what changed and why.
public struct OrderEvent: Codable, Sendable, Equatable {
    public static let aggregateType = "order"

    public var order: OrderSnapshot
    public var fromStatus: String?
    public var actor: String
    public var reason: String?
    /// Set on `order.cancelled` after payment: the buyer must get a full refund.
    public var refundRequired: Bool
    public var autoConfirmAt: Date?

    public init(
        order: OrderSnapshot, fromStatus: String?, actor: String, reason: String?, refundRequired: Bool = false,
        autoConfirmAt: Date? = nil
    ) {
        self.order = order
        self.fromStatus = fromStatus
        self.actor = actor
        self.reason = reason
        self.refundRequired = refundRequired
        self.autoConfirmAt = autoConfirmAt
    }
}
