import EventContracts
import Foundation
import Messaging
import PostgresNIO

/// EscrowService's events: releases, payouts, onboarding, disputes and reconciliation.
extension NotificationEventHandlers {
    var escrowHandlers: [EventHandler] {
        [
            .on(EscrowReleased.self) { event, context in try await escrowReleased(event, context) },
            EventHandler(eventType: PayoutChanged.paidType) { context in
                try await payoutChanged(try context.envelope.decodePayload(as: PayoutChanged.self), paid: true, context)
            },
            EventHandler(eventType: PayoutChanged.failedType) { context in
                try await payoutChanged(try context.envelope.decodePayload(as: PayoutChanged.self), paid: false, context)
            },
            .on(SellerAccountUpdated.self) { event, context in try await sellerAccountUpdated(event, context) },
            .on(DisputeOpened.self) { event, context in try await disputeOpened(event, context) },
            .on(DisputeResolved.self) { event, context in try await disputeResolved(event, context) },
            .on(ReconciliationCompleted.self) { event, context in try await reconciliationCompleted(event, context) },
        ]
    }

    func escrowReleased(_ event: EscrowReleased, _ context: EventContext) async throws {
        let order = try await projection.order(event.orderId, on: context.connection)
        let fee = event.feeAmount ?? 0
        try await notifier.queue(
            .escrowReleased, to: .user(event.sellerId), order: event.orderId, source: context.envelope.id,
            model: [
                "order": orderModel(event.orderId, order),
                "gross": MoneyFormat.format(event.grossAmount ?? Money.sum([event.amount, fee]) ?? event.amount, event.currency),
                "fee": MoneyFormat.format(fee, event.currency), "net": MoneyFormat.format(event.amount, event.currency),
            ], on: context.connection)
    }

    func payoutChanged(_ event: PayoutChanged, paid: Bool, _ context: EventContext) async throws {
        learn([(event.sellerId, event.sellerEmail)], context)
        var model: [String: Any] = [
            "amount": MoneyFormat.format(event.amount, event.currency), "payoutId": event.payoutId.uuidString.lowercased(),
            "link": models.link("/seller/payouts"),
        ]
        model["reason"] = event.failureReason ?? "the bank refused it"
        try await notifier.queue(
            paid ? .payoutSent : .payoutFailed, to: .user(event.sellerId), order: nil, source: context.envelope.id,
            model: model, on: context.connection)
    }

    /// Mails the seller when their account cannot receive payouts, once per change of what is due.
    func sellerAccountUpdated(_ event: SellerAccountUpdated, _ context: EventContext) async throws {
        learn([(event.sellerId, event.sellerEmail)], context)
        let changed = try await projection.sellerAccountChanged(
            event.sellerId, payoutsEnabled: event.payoutsEnabled, currentlyDue: event.currentlyDue, on: context.connection)
        guard changed, !event.payoutsEnabled || !event.currentlyDue.isEmpty else { return }
        try await notifier.queue(
            .onboardingIncomplete, to: .user(event.sellerId), order: nil, source: context.envelope.id,
            model: [
                "due": event.currentlyDue.map { $0.replacingOccurrences(of: "_", with: " ") },
                "hasDue": !event.currentlyDue.isEmpty, "link": models.link("/seller/onboarding"),
            ], on: context.connection)
    }

    func disputeOpened(_ event: DisputeOpened, _ context: EventContext) async throws {
        let order = try await projection.order(event.orderId, on: context.connection)
        var model: [String: Any] = [
            "order": orderModel(event.orderId, order, amount: event.amount, currency: event.currency), "reason": event.reason,
            "disputeId": event.disputeId.uuidString.lowercased(),
            "link": models.link("/admin/disputes/\(event.disputeId.uuidString.lowercased())"),
        ]
        model["description"] = event.description
        let source = context.envelope.id
        if let buyer = event.buyerId ?? order?.buyerId {
            try await notifier.queue(.disputeOpenedBuyer, to: .user(buyer), order: event.orderId, source: source, model: model, on: context.connection)
        }
        if let seller = event.sellerId ?? order?.sellerId {
            try await notifier.queue(.disputeOpenedSeller, to: .user(seller), order: event.orderId, source: source, model: model, on: context.connection)
        }
        try await notifier.queue(.adminDisputeOpened, to: notifier.admin, order: event.orderId, source: source, model: model, on: context.connection)
    }

    func disputeResolved(_ event: DisputeResolved, _ context: EventContext) async throws {
        let order = try await projection.order(event.orderId, on: context.connection)
        var model: [String: Any] = [
            "order": orderModel(event.orderId, order), "outcome": event.outcome,
            "refundAmount": MoneyFormat.format(event.refundAmount, event.currency),
            "releaseAmount": MoneyFormat.format(event.releaseAmount, event.currency),
        ]
        model["note"] = event.note
        let source = context.envelope.id
        if let buyer = event.buyerId ?? order?.buyerId {
            try await notifier.queue(.disputeResolvedBuyer, to: .user(buyer), order: event.orderId, source: source, model: model, on: context.connection)
        }
        try await notifier.queue(
            .disputeResolvedSeller, to: .user(event.sellerId), order: event.orderId, source: source, model: model, on: context.connection)
    }

    func reconciliationCompleted(_ event: ReconciliationCompleted, _ context: EventContext) async throws {
        guard !event.discrepancies.isEmpty else { return }
        try await notifier.queue(
            .adminReconciliation, to: notifier.admin, order: nil, source: context.envelope.id,
            model: [
                "runId": event.runId.uuidString.lowercased(), "checked": event.checked, "count": event.discrepancies.count,
                "discrepancies": event.discrepancies.map {
                    ["kind": $0.kind, "reference": $0.reference, "expected": $0.expected, "actual": $0.actual]
                },
            ], on: context.connection)
    }
}
