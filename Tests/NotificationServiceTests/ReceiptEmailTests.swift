import EventContracts
import Foundation
import Testing
import TestSupport

@testable import NotificationService

@Suite struct ReceiptEmailTests {
    @Test func thePaymentReceiptArrivesAsTextAndHTMLWithTheAmounts() async throws {
        try await ServiceHarness.notifications { service in
            let fixture = Fixture()
            let order = fixture.order()
            try await service.publish(fixture.checkout([order]), topic: Topic.orders, aggregateId: fixture.checkoutId.uuidString)
            try await service.publishOrder("order.placed", order)
            try await service.publish(fixture.payment([order]), topic: Topic.payments, aggregateId: fixture.checkoutId.uuidString)

            let sink = MailSink.shared
            #expect(try await service.eventually { try sink.messages(to: fixture.buyerEmail).contains { $0.kind == "payment_receipt" } })
            let receipt = try sink.messages(to: fixture.buyerEmail).first { $0.kind == "payment_receipt" }.orThrow("receipt mail")
            #expect(receipt.contentType == "multipart/alternative")
            #expect(receipt.parts.map(\.contentType) == ["text/plain", "text/html"])
            #expect(receipt.parts.allSatisfy { $0.charset == "utf-8" })
            #expect(receipt.subject.contains("$1,234.56"))
            let text = try receipt.part("text/plain").orThrow("text part").content
            let html = try receipt.part("text/html").orThrow("html part").content
            for part in [text, html] {
                #expect(part.contains(order.orderNumber))
                #expect(part.contains("Walnut desk"))
                #expect(part.contains("$1,200.00"))
                #expect(part.contains("$17.28"))
                #expect(part.contains("$34.56"))
                #expect(part.contains("$1,234.56"))
            }
            #expect(text.contains("2 × Brass lamp"))
            #expect(html.contains("<td>Brass lamp</td>"))
            #expect(receipt.messageId.hasSuffix("@escrowmarket.test>"))
            // The order confirmation went out too, and both are recorded as sent.
            #expect(try await service.eventually { try await service.notificationStatuses("order_confirmation") == ["sent"] })
            #expect(try await service.eventually { try await service.notificationStatuses("payment_receipt") == ["sent"] })
        }
    }

    @Test func zeroDecimalCurrenciesAreMailedInWholeUnits() async throws {
        try await ServiceHarness.notifications { service in
            let fixture = Fixture()
            let order = fixture.order(currency: "jpy", items: [("Tea set", 3, 1500)])
            try await service.publishOrder("order.placed", order)
            #expect(try await service.eventually { try !MailSink.shared.messages(to: fixture.buyerEmail).isEmpty })
            let mail = try MailSink.shared.messages(to: fixture.buyerEmail)[0]
            let text = try mail.part("text/plain").orThrow("text part").content
            #expect(text.contains("3 × Tea set @ ¥1,500 = ¥4,500"))
            #expect(!text.contains("¥45.00"))
        }
    }

    @Test func aRedeliveredPaymentSendsNothingNew() async throws {
        try await ServiceHarness.notifications { service in
            let fixture = Fixture()
            let order = fixture.order()
            try await service.publishOrder("order.placed", order)
            let payment = fixture.payment([order])
            let eventId = UUID()
            let key = payment.paymentId.uuidString
            try await service.publish(payment, topic: Topic.payments, aggregateId: key, id: eventId)
            let sink = MailSink.shared
            #expect(try await service.eventually { try sink.messages(to: fixture.buyerEmail).contains { $0.kind == "payment_receipt" } })

            // The same event again, and the same payment reported under a new event id.
            try await service.publish(payment, topic: Topic.payments, aggregateId: key, id: eventId)
            try await service.publish(payment, topic: Topic.payments, aggregateId: key)
            // A refund on the same partition comes after them, so once it is mailed they were handled.
            let refund = RefundSucceeded(
                refundId: UUID(), paymentId: payment.paymentId, orderId: order.orderId, amount: 1_728, currency: "usd",
                orderFullyRefunded: false)
            try await service.publish(refund, topic: Topic.payments, aggregateId: key)
            #expect(try await service.eventually { try sink.messages(to: fixture.buyerEmail).contains { $0.kind == "refund_issued" } })
            try await Task.sleep(for: .milliseconds(500))

            let receipts = try sink.messages(to: fixture.buyerEmail).filter { $0.kind == "payment_receipt" }
            #expect(receipts.count == 1)
            #expect(try await service.database.count("SELECT count(*) FROM receipts") == 1)
            #expect(try await service.notificationStatuses("payment_receipt") == ["sent"])
            let refundMail = try sink.messages(to: fixture.buyerEmail).first { $0.kind == "refund_issued" }.orThrow("refund mail")
            #expect(try refundMail.part("text/plain").orThrow("text").content.contains("$17.28"))
        }
    }
}
