import Foundation

/// `escrow.released`: the order's funds went to the seller (`amount` is the net transferred;
/// `grossAmount` = `feeAmount` + `amount`). A split dispute resolution releases only part of
/// the gross, so `grossAmount` may be less than the order's total.
public struct EscrowReleased: DomainEventPayload, Equatable {
    public static let eventType = "escrow.released"
    public static let schemaVersion = 1
    public static let aggregateType = "escrow"

    public var escrowId: UUID
    public var orderId: UUID
    public var sellerId: String
    public var amount: Int64
    public var currency: String
    public var grossAmount: Int64?
    public var feeAmount: Int64?
    public var transferId: String?

    public init(
        escrowId: UUID, orderId: UUID, sellerId: String, amount: Int64, currency: String, grossAmount: Int64? = nil,
        feeAmount: Int64? = nil, transferId: String? = nil
    ) {
        self.escrowId = escrowId
        self.orderId = orderId
        self.sellerId = sellerId
        self.amount = amount
        self.currency = currency
        self.grossAmount = grossAmount
        self.feeAmount = feeAmount
        self.transferId = transferId
    }
}

/// `escrow.release_parked`: the order was delivered but its release waits (seller not onboarded,
/// dispute or chargeback open); it is retried when the blocker clears.
public struct EscrowReleaseParked: DomainEventPayload, Equatable {
    public static let eventType = "escrow.release_parked"
    public static let schemaVersion = 1
    public static let aggregateType = "escrow"

    public var escrowId: UUID
    public var orderId: UUID
    public var sellerId: String
    public var reason: String

    public init(escrowId: UUID, orderId: UUID, sellerId: String, reason: String) {
        self.escrowId = escrowId
        self.orderId = orderId
        self.sellerId = sellerId
        self.reason = reason
    }
}

/// `escrow.flagged`: an escrow has been held longer than the configured limit; admins must act.
public struct EscrowFlagged: DomainEventPayload, Equatable {
    public static let eventType = "escrow.flagged"
    public static let schemaVersion = 1
    public static let aggregateType = "escrow"

    public var escrowId: UUID
    public var orderId: UUID
    public var sellerId: String
    public var heldSince: Date
    public var reason: String

    public init(escrowId: UUID, orderId: UUID, sellerId: String, heldSince: Date, reason: String) {
        self.escrowId = escrowId
        self.orderId = orderId
        self.sellerId = sellerId
        self.heldSince = heldSince
        self.reason = reason
    }
}

/// `dispute.opened`: the buyer opened a dispute and the order's escrow is frozen.
public struct DisputeOpened: DomainEventPayload, Equatable {
    public static let eventType = "dispute.opened"
    public static let schemaVersion = 1
    public static let aggregateType = "dispute"

    public var disputeId: UUID
    public var orderId: UUID
    public var reason: String
    public var buyerId: String?
    public var sellerId: String?
    public var description: String?
    public var amount: Int64?
    public var currency: String?

    public init(
        disputeId: UUID, orderId: UUID, reason: String, buyerId: String? = nil, sellerId: String? = nil,
        description: String? = nil, amount: Int64? = nil, currency: String? = nil
    ) {
        self.disputeId = disputeId
        self.orderId = orderId
        self.reason = reason
        self.buyerId = buyerId
        self.sellerId = sellerId
        self.description = description
        self.amount = amount
        self.currency = currency
    }
}

/// `dispute.resolved`: an admin decided; `refundAmount` goes back to the buyer (through
/// `refund.requested`), `releaseAmount` (gross) to the seller through a transfer, less the fee.
public struct DisputeResolved: DomainEventPayload, Equatable {
    public static let eventType = "dispute.resolved"
    public static let schemaVersion = 1
    public static let aggregateType = "dispute"

    /// `refund`, `release` or `split`.
    public var outcome: String
    public var disputeId: UUID
    public var orderId: UUID
    public var buyerId: String?
    public var sellerId: String
    public var refundAmount: Int64
    public var releaseAmount: Int64
    public var currency: String
    public var note: String?

    public init(
        outcome: String, disputeId: UUID, orderId: UUID, buyerId: String?, sellerId: String, refundAmount: Int64,
        releaseAmount: Int64, currency: String, note: String?
    ) {
        self.outcome = outcome
        self.disputeId = disputeId
        self.orderId = orderId
        self.buyerId = buyerId
        self.sellerId = sellerId
        self.refundAmount = refundAmount
        self.releaseAmount = releaseAmount
        self.currency = currency
        self.note = note
    }
}

/// `seller.account_updated`: the seller's connected account as the gateway last reported it.
/// `currentlyDue` non-empty or payouts disabled means onboarding is incomplete.
public struct SellerAccountUpdated: DomainEventPayload, Equatable {
    public static let eventType = "seller.account_updated"
    public static let schemaVersion = 1
    public static let aggregateType = "seller"

    public var sellerId: String
    public var sellerEmail: String?
    public var accountId: String
    public var chargesEnabled: Bool
    public var payoutsEnabled: Bool
    public var currentlyDue: [String]

    public init(
        sellerId: String, sellerEmail: String?, accountId: String, chargesEnabled: Bool, payoutsEnabled: Bool,
        currentlyDue: [String]
    ) {
        self.sellerId = sellerId
        self.sellerEmail = sellerEmail
        self.accountId = accountId
        self.chargesEnabled = chargesEnabled
        self.payoutsEnabled = payoutsEnabled
        self.currentlyDue = currentlyDue
    }
}

/// `payout.requested` / `payout.paid` / `payout.failed`: a seller's payout to their bank
/// (`Payout.requestedType` and friends name the three event types; the payload is the same).
public struct PayoutChanged: Codable, Sendable, Equatable {
    public static let aggregateType = "payout"
    public static let requestedType = "payout.requested"
    public static let paidType = "payout.paid"
    public static let failedType = "payout.failed"

    public var payoutId: UUID
    public var sellerId: String
    public var sellerEmail: String?
    public var amount: Int64
    public var currency: String
    public var status: String
    public var failureReason: String?

    public init(
        payoutId: UUID, sellerId: String, sellerEmail: String?, amount: Int64, currency: String, status: String,
        failureReason: String?
    ) {
        self.payoutId = payoutId
        self.sellerId = sellerId
        self.sellerEmail = sellerEmail
        self.amount = amount
        self.currency = currency
        self.status = status
        self.failureReason = failureReason
    }
}

/// `reconciliation.completed`: the ledger was compared with the gateway's records.
public struct ReconciliationCompleted: DomainEventPayload, Equatable {
    public static let eventType = "reconciliation.completed"
    public static let schemaVersion = 1
    public static let aggregateType = "reconciliation"

    public struct Discrepancy: Codable, Sendable, Equatable {
        /// `charge`, `transfer`, `refund`, `payout` or `ledger`.
        public var kind: String
        public var reference: String
        public var expected: String
        public var actual: String

        public init(kind: String, reference: String, expected: String, actual: String) {
            self.kind = kind
            self.reference = reference
            self.expected = expected
            self.actual = actual
        }
    }

    public var runId: UUID
    public var checked: Int
    public var discrepancies: [Discrepancy]

    public init(runId: UUID, checked: Int, discrepancies: [Discrepancy]) {
        self.runId = runId
        self.checked = checked
        self.discrepancies = discrepancies
    }
}

/// `wallet.held`: what EscrowService took from the buyer's wallet for a payment that asked for it
/// (`wallet.hold_requested`): from 0 up to the maximum asked. It stays held until the payment
/// succeeds (then it funds the escrows) or fails or is cancelled (then it goes back to the wallet).
public struct WalletHeld: DomainEventPayload, Equatable {
    public static let eventType = "wallet.held"
    public static let schemaVersion = 1
    public static let aggregateType = "payment"

    public var paymentId: UUID
    public var buyerId: String
    public var amount: Int64
    public var currency: String

    public init(paymentId: UUID, buyerId: String, amount: Int64, currency: String) {
        self.paymentId = paymentId
        self.buyerId = buyerId
        self.amount = amount
        self.currency = currency
    }
}
