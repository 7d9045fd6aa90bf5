import EventContracts
import Foundation
import Messaging

/// EscrowService's reactions to other services' events.
struct EscrowEventHandlers: Sendable {
    let store: EscrowStore
    let fees: FeePolicy
    let gateway: any EscrowGateway
    let topic: String

    var all: [EventHandler] {
        [
            // The platform now holds the money: one escrow per order, and the ledger says so.
            .on(PaymentSucceeded.self) { event, context in
                let opened = try await store.open(
                    for: event, fees: fees, source: "event:\(context.envelope.id.uuidString.lowercased())", on: context.connection)
                context.logger.info("escrows opened", metadata: ["count": "\(opened.count)", "payment_id": "\(event.paymentId)"])
            },
            // Delivered (by the buyer or automatically): release unless something blocks it.
            EventHandler(eventType: "order.delivered") { context in
                let event = try context.envelope.decodePayload(as: OrderEvent.self)
                try await store.release(
                    orderId: event.order.orderId, gateway: gateway, topic: topic, correlationId: context.envelope.correlationId,
                    causationId: context.envelope.id.uuidString.lowercased(), on: context.connection)
            },
            // A seller's account changed: releases parked for it are tried again.
            .on(GatewayAccountUpdated.self) { event, context in
                guard let seller = try await store.updateAccount(event, on: context.connection) else { return }
                for order in try await store.parkedOrders(sellerId: seller, on: context.connection) {
                    try await store.release(
                        orderId: order, gateway: gateway, topic: topic, correlationId: context.envelope.correlationId,
                        causationId: context.envelope.id.uuidString.lowercased(), on: context.connection)
                }
            },
        ]
    }
}
