import EventContracts
import Foundation
import Testing
import TestSupport

@testable import EscrowService

/// Events from different topics overtake each other; a handler whose prerequisite has not
/// arrived defers the event and applies it when the prerequisite does.
@Suite struct EarlyEventTests {
    @Test func aChargebackThatOvertakesItsPaymentFreezesTheEscrowOnceThePaymentArrives() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            let order = UUID()
            let payment = PaymentSucceeded(
                paymentId: UUID(), checkoutId: UUID(), chargeId: "ch_early", amount: 4000, currency: "usd",
                orders: [.init(orderId: order, sellerId: "seller-e", amount: 4000)], buyerId: "buyer-e")
            // The chargeback is keyed by the payment, as PaymentService publishes it; it arrives first.
            let opened = try ChargebackTests().chargeback(ChargebackChanged.openedType, payment, dispute: "dp_early", status: "needs_response")
            try await service.publish(envelope: opened, topic: Topic.payments)
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*) FROM deferred_events WHERE event_type = \(ChargebackChanged.openedType)") == 1
            })
            #expect(try await service.database.count("SELECT count(*) FROM escrows") == 0)

            try await service.publish(payment, topic: Topic.payments, aggregateId: payment.paymentId.uuidString.lowercased())
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*) FROM escrows WHERE order_id = \(order) AND chargeback_id = 'dp_early'") == 1
            })
            #expect(try await service.database.count("SELECT count(*) FROM deferred_events") == 0)
            // Frozen: the buyer's confirmation parks it instead of releasing it.
            try await driver.order("order.delivered", order, seller: "seller-e", buyer: "buyer-e")
            #expect(try await driver.waitFor(order, status: "parked"))
            try await driver.expectBalanced()
        }
    }
}
