import EventContracts
import HTTPSupport
import Messaging

/// PaymentService's reactions to other services' events.
struct PaymentEventHandlers: Sendable {
    let store: PaymentStore
    let refunds: RefundStore
    /// wallet.enabled decides whether a checkout's `useWallet` is acted on.
    let flags: FeatureFlagStore
    let wakeWebhooks: @Sendable () -> Void
    let wakeRefunds: @Sendable () -> Void

    var all: [EventHandler] {
        [
            // One payment per checkout, for its total, whatever the number of sellers.
            .on(CheckoutCreated.self) { event, context in
                try await store.create(from: event, on: context.connection)
                // Asked at checkout: the store credit is held now, so create-intent finds it answered.
                if event.useWallet == true, try await flags.isEnabled(.wallet),
                    let payment = try await store.lock(where: "checkout_id = \(event.checkoutId)", on: context.connection),
                    !payment.walletRequested, payment.intentId == nil
                {
                    try await store.requestWallet(
                        payment, correlationId: context.envelope.correlationId, causationId: context.envelope.id.uuidString.lowercased(),
                        on: context.connection)
                }
                // Gateway events may be waiting for this payment.
                context.onCommit(wakeWebhooks)
            },
            // EscrowService decides when money goes back; a refused request is answered with refund.failed.
            .on(RefundRequested.self) { event, context in
                guard let paymentId = try await store.paymentId(orderId: event.orderId, checkoutId: nil, on: context.connection) else {
                    context.logger.warning("refund requested for an unknown order", metadata: ["order_id": "\(event.orderId)"])
                    return
                }
                do {
                    _ = try await refunds.request(
                        paymentId: paymentId, orderId: event.orderId, amount: event.amount, reason: event.reason,
                        requestedBy: "event:\(context.envelope.producer)", key: "event:\(event.requestId.uuidString.lowercased())",
                        correlationId: context.envelope.correlationId,
                        on: context.connection, store: store)
                    context.onCommit(wakeRefunds)
                } catch let problem as Problem {
                    try await context.publish(
                        RefundFailed(refundId: event.requestId, paymentId: paymentId, orderId: event.orderId, amount: event.amount,
                                     reason: problem.detail ?? problem.title),
                        aggregateId: paymentId.uuidString.lowercased(), topic: store.topic)
                }
            },
            // EscrowService's answer to wallet.hold_requested: the card pays what the wallet did not.
            .on(WalletHeld.self) { event, context in
                try await store.walletHeld(event, on: context.connection)
            },
        ]
    }
}
