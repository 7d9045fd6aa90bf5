import Foundation

/// One order's share of a payment: its seller and its amount in minor units (the payment's
/// currency). The parts of `payment.succeeded` and of a chargeback.
public struct OrderShare: Codable, Sendable, Equatable {
    public var orderId: UUID
    public var sellerId: String
    public var amount: Int64

    public init(orderId: UUID, sellerId: String, amount: Int64) {
        self.orderId = orderId
        self.sellerId = sellerId
        self.amount = amount
    }
}

/// `payment.succeeded`: the checkout's charge went through (from the webhook, not the client).
public struct PaymentSucceeded: DomainEventPayload, Equatable {
    public static let eventType = "payment.succeeded"
    public static let schemaVersion = 1
    public static let aggregateType = "payment"

    public typealias Part = OrderShare

    public var paymentId: UUID
    public var checkoutId: UUID
    public var chargeId: String?
    public var amount: Int64
    public var currency: String
    public var orders: [Part]
    public var buyerId: String?
    /// The part of `amount` paid from the buyer's wallet (held by EscrowService through
    /// `wallet.held`); the card was charged the rest. Absent means none.
    public var walletAmount: Int64?

    public init(
        paymentId: UUID, checkoutId: UUID, chargeId: String?, amount: Int64, currency: String, orders: [Part],
        buyerId: String? = nil, walletAmount: Int64? = nil
    ) {
        self.paymentId = paymentId
        self.checkoutId = checkoutId
        self.chargeId = chargeId
        self.amount = amount
        self.currency = currency
        self.orders = orders
        self.buyerId = buyerId
        self.walletAmount = walletAmount
    }
}

/// `payment.failed`: the charge was declined or the intent was cancelled.
public struct PaymentFailed: DomainEventPayload, Equatable {
    public static let eventType = "payment.failed"
    public static let schemaVersion = 1
    public static let aggregateType = "payment"

    public var paymentId: UUID
    public var checkoutId: UUID
    public var reason: String

    public init(paymentId: UUID, checkoutId: UUID, reason: String) {
        self.paymentId = paymentId
        self.checkoutId = checkoutId
        self.reason = reason
    }
}

/// `refund.succeeded`: money went back to the buyer for one order.
public struct RefundSucceeded: DomainEventPayload, Equatable {
    public static let eventType = "refund.succeeded"
    public static let schemaVersion = 1
    public static let aggregateType = "payment"

    public var refundId: UUID
    public var paymentId: UUID
    public var orderId: UUID
    public var amount: Int64
    public var currency: String
    /// True when the order's whole amount has now been refunded.
    public var orderFullyRefunded: Bool
    /// The part of `amount` that goes back to the buyer's wallet (what store credit paid);
    /// the card got the rest. Absent means none.
    public var walletAmount: Int64?

    public init(
        refundId: UUID, paymentId: UUID, orderId: UUID, amount: Int64, currency: String, orderFullyRefunded: Bool,
        walletAmount: Int64? = nil
    ) {
        self.refundId = refundId
        self.paymentId = paymentId
        self.orderId = orderId
        self.amount = amount
        self.currency = currency
        self.orderFullyRefunded = orderFullyRefunded
        self.walletAmount = walletAmount
    }
}

/// `refund.requested`: EscrowService (dispute outcome, cancellation) asks for money back.
public struct RefundRequested: DomainEventPayload, Equatable {
    public static let eventType = "refund.requested"
    public static let schemaVersion = 1
    public static let aggregateType = "escrow"

    public var requestId: UUID
    public var orderId: UUID
    public var amount: Int64
    public var currency: String
    public var reason: String

    public init(requestId: UUID, orderId: UUID, amount: Int64, currency: String, reason: String) {
        self.requestId = requestId
        self.orderId = orderId
        self.amount = amount
        self.currency = currency
        self.reason = reason
    }
}

/// `refund.failed`: the refund was refused (too much, chargeback open) or the gateway failed it.
public struct RefundFailed: DomainEventPayload, Equatable {
    public static let eventType = "refund.failed"
    public static let schemaVersion = 1
    public static let aggregateType = "payment"

    public var refundId: UUID
    public var paymentId: UUID
    public var orderId: UUID
    public var amount: Int64
    public var reason: String
    /// The refund had succeeded and failed later (the bank returned it): what was booked as
    /// refunded is the platform's again. Absent in events written before it existed.
    public var afterSuccess: Bool?

    public init(refundId: UUID, paymentId: UUID, orderId: UUID, amount: Int64, reason: String, afterSuccess: Bool? = nil) {
        self.refundId = refundId
        self.paymentId = paymentId
        self.orderId = orderId
        self.amount = amount
        self.reason = reason
        self.afterSuccess = afterSuccess
    }
}

/// `wallet.topped_up`: a buyer's top-up was charged; EscrowService credits their wallet.
public struct WalletToppedUp: DomainEventPayload, Equatable {
    public static let eventType = "wallet.topped_up"
    public static let schemaVersion = 1
    public static let aggregateType = "top_up"

    public var topUpId: UUID
    public var buyerId: String
    public var amount: Int64
    public var currency: String
    public var chargeId: String?

    public init(topUpId: UUID, buyerId: String, amount: Int64, currency: String, chargeId: String?) {
        self.topUpId = topUpId
        self.buyerId = buyerId
        self.amount = amount
        self.currency = currency
        self.chargeId = chargeId
    }
}

/// `wallet.hold_requested`: the buyer pays with store credit first. EscrowService, which keeps
/// the wallets, holds up to `maximum` of the buyer's balance for the payment and answers with
/// `wallet.held` (zero when the wallet is empty).
public struct WalletHoldRequested: DomainEventPayload, Equatable {
    public static let eventType = "wallet.hold_requested"
    public static let schemaVersion = 1
    public static let aggregateType = "payment"

    public var paymentId: UUID
    public var checkoutId: UUID
    public var buyerId: String
    public var maximum: Int64
    public var currency: String

    public init(paymentId: UUID, checkoutId: UUID, buyerId: String, maximum: Int64, currency: String) {
        self.paymentId = paymentId
        self.checkoutId = checkoutId
        self.buyerId = buyerId
        self.maximum = maximum
        self.currency = currency
    }
}
