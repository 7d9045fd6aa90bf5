import EventContracts
import Foundation
import Messaging
import Persistence
import PostgresNIO

/// How orders react to other services' events. Each runs in the consumer's transaction with
/// the inbox row, so a redelivered event is a no-op; an event that no longer fits the order's
/// state (late, duplicated under another id) changes nothing.
struct OrderEventHandlers: Sendable {
    let store: OrderStore

    var all: [EventHandler] {
        [
            .on(PaymentSucceeded.self) { event, context in try await paymentSucceeded(event, context) },
            .on(PaymentFailed.self) { event, context in try await paymentFailed(event, context) },
            .on(EscrowReleased.self) { event, context in try await escrowReleased(event, context) },
            .on(DisputeOpened.self) { event, context in try await disputeOpened(event, context) },
            .on(RefundSucceeded.self) { event, context in try await refundSucceeded(event, context) },
        ]
    }

    /// Stock moves are left for the end of the consumer's transaction (listings locked briefly).
    private func stockMoves(_ context: EventContext) -> StockMoves {
        context.atTransactionEnd(StockMoves.self) { StockMoves() }
    }

    func paymentSucceeded(_ event: PaymentSucceeded, _ context: EventContext) async throws {
        let checkoutOrders = try await store.lock(checkoutId: event.checkoutId, on: context.connection)
        let unpaid = checkoutOrders.filter { $0.status == .pendingPayment }
        stockMoves(context).add(.sell, of: unpaid)
        try await store.transition(unpaid, to: .paid, cause: cause(context, "payment succeeded"), on: context.connection)
        for order in checkoutOrders where order.status != .pendingPayment {
            if order.status == .cancelled {
                // Paid after it expired or was cancelled: the buyer must get the money back.
                context.logger.warning("payment arrived for a cancelled order", metadata: ["order_id": "\(order.id)"])
                try await store.publish(
                    order, type: "order.refund_required", from: order.status,
                    cause: cause(context, "payment arrived after the order was cancelled"), refundRequired: true,
                    on: context.connection)
            } else {
                context.logger.info("payment already applied", metadata: ["order_id": "\(order.id)"])
            }
        }
    }

    func paymentFailed(_ event: PaymentFailed, _ context: EventContext) async throws {
        let unpaid = try await store.lock(checkoutId: event.checkoutId, on: context.connection).filter { $0.status == .pendingPayment }
        stockMoves(context).add(.release, of: unpaid)
        try await store.transition(unpaid, to: .cancelled, cause: cause(context, "payment failed: \(event.reason)"), on: context.connection)
    }

    func escrowReleased(_ event: EscrowReleased, _ context: EventContext) async throws {
        try await move(event.orderId, to: .completed, from: [.delivered, .disputed], reason: "escrow released", context)
    }

    func disputeOpened(_ event: DisputeOpened, _ context: EventContext) async throws {
        try await move(
            event.orderId, to: .disputed, from: [.paid, .shipped, .delivered, .completed],
            reason: "dispute opened: \(event.reason)", context)
    }

    func refundSucceeded(_ event: RefundSucceeded, _ context: EventContext) async throws {
        guard event.orderFullyRefunded else { return }
        guard let order = try await store.lock(event.orderId, on: context.connection) else { return }
        switch order.status {
        case .paid:
            stockMoves(context).add(.restock, of: [order])
            try await store.transition(order, to: .cancelled, cause: cause(context, "refunded before shipment"), on: context.connection)
        case .shipped, .delivered, .disputed, .completed:
            try await store.transition(order, to: .refunded, cause: cause(context, "refunded"), on: context.connection)
        default:
            return
        }
    }

    private func move(
        _ orderId: UUID, to next: OrderStatus, from states: Set<OrderStatus>, reason: String, _ context: EventContext
    ) async throws {
        guard let order = try await store.lock(orderId, on: context.connection) else {
            context.logger.warning("event for an unknown order", metadata: ["order_id": "\(orderId)"])
            return
        }
        guard states.contains(order.status) else {
            context.logger.info(
                "event does not apply to the order's state", metadata: ["order_id": "\(orderId)", "status": "\(order.status.rawValue)"])
            return
        }
        try await store.transition(order, to: next, cause: cause(context, reason), on: context.connection)
    }

    private func cause(_ context: EventContext, _ reason: String) -> Cause {
        Cause(
            actor: "event:\(context.envelope.type)", reason: reason, correlationId: context.envelope.correlationId,
            causationId: context.envelope.id.uuidString.lowercased())
    }
}
