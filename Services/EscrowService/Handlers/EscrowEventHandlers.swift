import EventContracts
import Messaging

/// EscrowService's reactions to other services' events.
struct EscrowEventHandlers: Sendable {
    let store: EscrowStore
    let fees: FeePolicy

    var all: [EventHandler] {
        [
            // The platform now holds the money: one escrow per order, and the ledger says so.
            .on(PaymentSucceeded.self) { event, context in
                let opened = try await store.open(
                    for: event, fees: fees, source: "event:\(context.envelope.id.uuidString.lowercased())", on: context.connection)
                context.logger.info("escrows opened", metadata: ["count": "\(opened.count)", "payment_id": "\(event.paymentId)"])
            }
        ]
    }
}
