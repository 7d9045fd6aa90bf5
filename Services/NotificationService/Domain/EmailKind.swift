/// Every email the service sends, one template each, and who it is for.
enum EmailKind: String, Sendable, CaseIterable {
    // Buyer
    case orderConfirmation = "order_confirmation"
    case paymentReceipt = "payment_receipt"
    case paymentFailed = "payment_failed"
    case orderShipped = "order_shipped"
    case deliveryConfirmed = "delivery_confirmed"
    case refundIssued = "refund_issued"
    case disputeOpenedBuyer = "dispute_opened_buyer"
    case disputeResolvedBuyer = "dispute_resolved_buyer"
    case confirmDeliveryReminder = "confirm_delivery_reminder"
    // Seller
    case newPaidOrder = "new_paid_order"
    case shipReminder = "ship_reminder"
    case escrowReleased = "escrow_released"
    case payoutSent = "payout_sent"
    case payoutFailed = "payout_failed"
    case onboardingIncomplete = "onboarding_incomplete"
    case disputeOpenedSeller = "dispute_opened_seller"
    case disputeResolvedSeller = "dispute_resolved_seller"
    // Admin
    case adminDisputeOpened = "admin_dispute_opened"
    case adminChargeback = "admin_chargeback"
    case adminReconciliation = "admin_reconciliation_discrepancy"

    enum Audience: String, Sendable { case buyer, seller, admin }

    var audience: Audience {
        switch self {
        case .orderConfirmation, .paymentReceipt, .paymentFailed, .orderShipped, .deliveryConfirmed, .refundIssued,
            .disputeOpenedBuyer, .disputeResolvedBuyer, .confirmDeliveryReminder:
            .buyer
        case .newPaidOrder, .shipReminder, .escrowReleased, .payoutSent, .payoutFailed, .onboardingIncomplete,
            .disputeOpenedSeller, .disputeResolvedSeller:
            .seller
        case .adminDisputeOpened, .adminChargeback, .adminReconciliation:
            .admin
        }
    }
}
