import EventContracts
import Foundation
import Testing
import TestSupport

@testable import NotificationService

/// Events from different topics overtake each other: an email whose subject has not arrived
/// yet waits for it instead of being lost.
@Suite struct EarlyEventTests {
    @Test func aPaymentFailureThatOvertakesItsCheckoutIsMailedOnceTheCheckoutArrives() async throws {
        try await ServiceHarness.notifications { service in
            let fixture = Fixture()
            let order = fixture.order()
            let failed = PaymentFailed(paymentId: UUID(), checkoutId: fixture.checkoutId, reason: "card_declined")
            try await service.publish(failed, topic: Topic.payments, aggregateId: failed.paymentId.uuidString.lowercased())
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*) FROM deferred_events WHERE event_type = 'payment.failed'") == 1
            })
            #expect(try await service.notificationStatuses("payment_failed").isEmpty)

            try await service.publish(fixture.checkout([order]), topic: Topic.orders, aggregateId: fixture.checkoutId.uuidString)
            #expect(try await service.eventually { try await service.notificationStatuses("payment_failed") == ["sent"] })
            let mail = try MailSink.shared.messages(to: fixture.buyerEmail).first { $0.kind == "payment_failed" }.orThrow("mail")
            #expect(try mail.part("text/plain").orThrow("text").content.contains("$1,234.56"))
            #expect(try await service.database.count("SELECT count(*) FROM deferred_events") == 0)
        }
    }

    @Test func aRefundThatOvertakesItsOrderIsMailedOnceTheOrderArrives() async throws {
        try await ServiceHarness.notifications { service in
            let fixture = Fixture()
            let order = fixture.order()
            let refund = RefundSucceeded(
                refundId: UUID(), paymentId: UUID(), orderId: order.orderId, amount: 2_500, currency: "usd", orderFullyRefunded: false)
            try await service.publish(refund, topic: Topic.payments, aggregateId: refund.refundId.uuidString.lowercased())
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*) FROM deferred_events WHERE event_type = 'refund.succeeded'") == 1
            })
            #expect(try await service.notificationStatuses("refund_issued").isEmpty)

            try await service.publishOrder("order.placed", order)
            #expect(try await service.eventually { try await service.notificationStatuses("refund_issued") == ["sent"] })
            let mail = try MailSink.shared.messages(to: fixture.buyerEmail).first { $0.kind == "refund_issued" }.orThrow("mail")
            #expect(try mail.part("text/plain").orThrow("text").content.contains("$25.00"))
        }
    }
}
