import EventContracts
import Messaging

/// PaymentService's reactions to other services' events.
struct PaymentEventHandlers: Sendable {
    let store: PaymentStore
    let wakeWebhooks: @Sendable () -> Void

    var all: [EventHandler] {
        [
            // One payment per checkout, for its total, whatever the number of sellers.
            .on(CheckoutCreated.self) { event, context in
                try await store.create(from: event, on: context.connection)
                wakeWebhooks()
            }
        ]
    }
}
