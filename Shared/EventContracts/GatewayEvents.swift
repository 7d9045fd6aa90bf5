import Foundation

/// `chargeback.opened` / `chargeback.closed`: a card dispute on a payment's charge, relayed by
/// PaymentService (the only receiver of Stripe webhooks) for EscrowService.
public struct ChargebackChanged: Codable, Sendable, Equatable {
    public static let aggregateType = "payment"
    public static let openedType = "chargeback.opened"
    public static let closedType = "chargeback.closed"

    public typealias Part = OrderShare

    public var paymentId: UUID
    public var chargeId: String
    public var disputeId: String
    public var amount: Int64
    public var currency: String
    public var reason: String
    /// Stripe's dispute status (`needs_response`, `won`, `lost`, …).
    public var status: String
    public var orders: [Part]

    public init(
        paymentId: UUID, chargeId: String, disputeId: String, amount: Int64, currency: String, reason: String, status: String,
        orders: [Part]
    ) {
        self.paymentId = paymentId
        self.chargeId = chargeId
        self.disputeId = disputeId
        self.amount = amount
        self.currency = currency
        self.reason = reason
        self.status = status
        self.orders = orders
    }
}

/// `gateway.account_updated`: a seller's connected account changed. `stripeCreated` orders
/// updates, so an older event never overwrites a newer state.
public struct GatewayAccountUpdated: DomainEventPayload, Equatable {
    public static let eventType = "gateway.account_updated"
    public static let schemaVersion = 1
    public static let aggregateType = "connected_account"

    public var accountId: String
    public var chargesEnabled: Bool
    public var payoutsEnabled: Bool
    public var detailsSubmitted: Bool
    public var currentlyDue: [String]
    public var stripeEventId: String
    public var stripeCreated: Int64

    public init(
        accountId: String, chargesEnabled: Bool, payoutsEnabled: Bool, detailsSubmitted: Bool, currentlyDue: [String],
        stripeEventId: String, stripeCreated: Int64
    ) {
        self.accountId = accountId
        self.chargesEnabled = chargesEnabled
        self.payoutsEnabled = payoutsEnabled
        self.detailsSubmitted = detailsSubmitted
        self.currentlyDue = currentlyDue
        self.stripeEventId = stripeEventId
        self.stripeCreated = stripeCreated
    }
}

/// `gateway.payout_updated`: a payout on a connected account was paid or failed.
public struct GatewayPayoutUpdated: DomainEventPayload, Equatable {
    public static let eventType = "gateway.payout_updated"
    public static let schemaVersion = 1
    public static let aggregateType = "payout"

    public var payoutId: String
    public var accountId: String?
    public var status: String
    public var amount: Int64
    public var currency: String
    public var failureCode: String?

    public init(payoutId: String, accountId: String?, status: String, amount: Int64, currency: String, failureCode: String?) {
        self.payoutId = payoutId
        self.accountId = accountId
        self.status = status
        self.amount = amount
        self.currency = currency
        self.failureCode = failureCode
    }
}

/// `gateway.transfer_reversed`: (part of) a transfer to a seller came back to the platform.
public struct GatewayTransferReversed: DomainEventPayload, Equatable {
    public static let eventType = "gateway.transfer_reversed"
    public static let schemaVersion = 1
    public static let aggregateType = "transfer"

    public var transferId: String
    public var amountReversed: Int64
    public var currency: String
    public var transferGroup: String?

    public init(transferId: String, amountReversed: Int64, currency: String, transferGroup: String?) {
        self.transferId = transferId
        self.amountReversed = amountReversed
        self.currency = currency
        self.transferGroup = transferGroup
    }
}
