import Foundation

/// `escrow.released`: the order's funds went to the seller.
public struct EscrowReleased: DomainEventPayload, Equatable {
    public static let eventType = "escrow.released"
    public static let schemaVersion = 1
    public static let aggregateType = "escrow"

    public var escrowId: UUID
    public var orderId: UUID
    public var sellerId: String
    public var amount: Int64
    public var currency: String

    public init(escrowId: UUID, orderId: UUID, sellerId: String, amount: Int64, currency: String) {
        self.escrowId = escrowId
        self.orderId = orderId
        self.sellerId = sellerId
        self.amount = amount
        self.currency = currency
    }
}

/// `dispute.opened`: the buyer (or a card chargeback) froze the order's escrow.
public struct DisputeOpened: DomainEventPayload, Equatable {
    public static let eventType = "dispute.opened"
    public static let schemaVersion = 1
    public static let aggregateType = "dispute"

    public var disputeId: UUID
    public var orderId: UUID
    public var reason: String

    public init(disputeId: UUID, orderId: UUID, reason: String) {
        self.disputeId = disputeId
        self.orderId = orderId
        self.reason = reason
    }
}
