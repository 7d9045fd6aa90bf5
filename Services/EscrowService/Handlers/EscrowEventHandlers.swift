import EventContracts
import Foundation
import Messaging

/// EscrowService's reactions to other services' events. Each runs in the consumer's
/// transaction with the inbox row, so a redelivered event changes nothing.
struct EscrowEventHandlers: Sendable {
    let escrows: EscrowStore
    let payouts: PayoutStore
    let fees: FeePolicy
    /// Wakes the gateway command worker (after a commit that recorded commands).
    let wakeCommands: @Sendable () -> Void

    var all: [EventHandler] {
        let handlers: [EventHandler] = [
            // The platform now holds the money: one escrow per order, and the ledger says so.
            .on(PaymentSucceeded.self) { event, context in
                let opened = try await escrows.open(
                    for: event, fees: fees, source: "event:\(context.envelope.id.uuidString.lowercased())", on: context.connection)
                context.logger.info("escrows opened", metadata: ["count": "\(opened.count)", "payment_id": "\(event.paymentId)"])
                // Order events that overtook the payment are applied now.
                for order in opened {
                    for deferred in try await escrows.takeDeferred(orderId: order, on: context.connection) {
                        try await apply(deferred.type, orderId: order, cause: deferred.cause, context)
                    }
                }
                // So are chargebacks that did (they travel under another key).
                try await context.resumeDeferred(Self.payment(event.paymentId))
            },
            // Delivered (by the buyer or automatically): release unless something blocks it.
            orderEvent("order.delivered"),
            // Cancelled after payment, before shipment: everything back to the buyer.
            orderEvent("order.cancelled"),
            orderEvent("order.refund_required"),
            // A seller's account changed: releases parked for it are tried again.
            .on(GatewayAccountUpdated.self) { event, context in
                guard let seller = try await escrows.updateAccount(event, cause: cause(context), on: context.connection) else { return }
                try await escrows.retryParked(sellerId: seller, cause: cause(context), on: context.connection)
            },
            .on(RefundSucceeded.self) { event, context in
                try await escrows.refundSucceeded(event, cause: cause(context), on: context.connection)
            },
            .on(RefundFailed.self) { event, context in
                try await escrows.refundFailed(event, on: context.connection)
            },
            EventHandler(eventType: ChargebackChanged.openedType) { context in
                let event = try context.envelope.decodePayload(as: ChargebackChanged.self)
                let early = try await context.deferUnless(Self.payment(event.paymentId)) {
                    try await escrows.hasEscrows(paymentId: event.paymentId, on: context.connection)
                }
                if early { return }
                try await escrows.chargebackOpened(event, cause: cause(context), on: context.connection)
            },
            EventHandler(eventType: ChargebackChanged.closedType) { context in
                let event = try context.envelope.decodePayload(as: ChargebackChanged.self)
                let early = try await context.deferUnless(Self.payment(event.paymentId)) {
                    try await escrows.hasEscrows(paymentId: event.paymentId, on: context.connection)
                }
                if early { return }
                try await escrows.chargebackClosed(event, cause: cause(context), on: context.connection)
            },
            .on(GatewayPayoutUpdated.self) { event, context in
                try await payouts.settle(
                    stripePayoutId: event.payoutId, status: event.status, failureCode: event.failureCode, cause: cause(context),
                    on: context.connection)
            },
            // Store credit bought with a card: booked in the buyer's wallet once (the journal's source).
            .on(WalletToppedUp.self) { event, context in
                guard (1...WalletImport.maximumAmount).contains(event.amount), WalletImport.problem(
                    in: .init(externalId: "top-up", buyerId: event.buyerId, currency: event.currency, amount: event.amount)) == nil
                else { throw EventRejected("a top-up the wallet cannot take: \(event.amount) \(event.currency) for \(event.buyerId)") }
                try await WalletStore(escrows: escrows).topUp(event, on: context.connection)
            },
            // A payment spends store credit first: as much as the wallet has is held for it.
            .on(WalletHoldRequested.self) { event, context in
                try await WalletStore(escrows: escrows).hold(event, cause: cause(context), on: context.connection)
            },
            // A payment that did not go through gives back what it held of the wallet.
            .on(PaymentFailed.self) { event, context in
                try await WalletStore(escrows: escrows).returnHold(paymentId: event.paymentId, on: context.connection)
            },
            .on(GatewayTransferReversed.self) { event, context in
                // Reversals are booked when we make them; the gateway's report is checked by reconciliation.
                context.logger.info("transfer reversal reported", metadata: ["transfer": "\(event.transferId)", "reversed": "\(event.amountReversed)"])
            },
        ]
        // Whatever a handler decided at the gateway is executed as soon as it is committed.
        return handlers.map { handler in
            EventHandler(eventType: handler.eventType, maximumSchemaVersion: handler.maximumSchemaVersion) { context in
                try await handler.handle(context)
                context.onCommit(wakeCommands)
            }
        }
    }

    private func orderEvent(_ type: String) -> EventHandler {
        EventHandler(eventType: type) { context in
            let event = try context.envelope.decodePayload(as: OrderEvent.self)
            // Only a cancellation after payment asks for money back; one before payment gives
            // back any store credit its payment held.
            if type == "order.cancelled" && !event.refundRequired {
                try await WalletStore(escrows: escrows).checkoutCancelledUnpaid(event.order.checkoutId, on: context.connection)
                return
            }
            try await apply(type, orderId: event.order.orderId, cause: cause(context), context)
        }
    }

    private func apply(_ type: String, orderId: UUID, cause: Cause, _ context: EventContext) async throws {
        switch type {
        case "order.delivered":
            try await escrows.delivered(orderId: orderId, cause: cause, on: context.connection)
        default:
            try await escrows.cancelled(orderId: orderId, eventType: type, cause: cause, on: context.connection)
        }
    }

    /// What an event about a payment waits for when it overtakes the payment's success.
    static func payment(_ id: UUID) -> String {
        "payment:\(id.uuidString.lowercased())"
    }

    private func cause(_ context: EventContext) -> Cause {
        Cause(correlationId: context.envelope.correlationId, causationId: context.envelope.id.uuidString.lowercased())
    }
}
