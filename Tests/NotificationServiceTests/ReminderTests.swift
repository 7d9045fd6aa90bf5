import EventContracts
import Foundation
import Testing
import TestSupport

@testable import NotificationService

@Suite struct ReminderTests {
    @Test func theSellerIsRemindedToShipAPaidOrderUnlessItShips() async throws {
        try await ServiceHarness.notifications(environment: ["NOTIFY_SHIP_REMINDER_SECONDS": "5"]) { service in
            let fixture = Fixture()
            let waiting = fixture.order()
            var shipped = fixture.order()
            try await service.publishOrder("order.paid", waiting)
            try await service.publishOrder("order.paid", shipped)
            shipped.carrier = "UPS"
            shipped.trackingNumber = "1Z999"
            try await service.publishOrder("order.shipped", shipped, autoConfirmAt: Date().addingTimeInterval(14 * 86_400))
            let sink = MailSink.shared
            #expect(try await service.eventually { try sink.messages(to: fixture.sellerEmail).contains { $0.kind == "ship_reminder" } })
            try await Task.sleep(for: .seconds(1))
            let reminders = try sink.messages(to: fixture.sellerEmail).filter { $0.kind == "ship_reminder" }
            #expect(reminders.count == 1)
            #expect(reminders.first?.subject.contains(waiting.orderNumber) == true)
            // The buyer heard about the shipment, with carrier and tracking.
            let shippedMail = try await eventuallyMail(service, sink, fixture.buyerEmail, "order_shipped")
            let text = try shippedMail.part("text/plain").orThrow("text").content
            #expect(text.contains("Carrier: UPS") && text.contains("Tracking number: 1Z999"))
            #expect(try await service.database.count("SELECT count(*) FROM reminders WHERE status = 'cancelled'") == 1)
        }
    }

    @Test func theBuyerIsRemindedBeforeAutomaticConfirmationUnlessDelivered() async throws {
        try await ServiceHarness.notifications(environment: ["NOTIFY_CONFIRM_REMINDER_LEAD_SECONDS": "6"]) { service in
            let fixture = Fixture()
            var reminded = fixture.order()
            var delivered = fixture.order()
            for order in [reminded, delivered] { try await service.publishOrder("order.placed", order) }
            reminded.carrier = "DHL"
            reminded.trackingNumber = "JJD1"
            delivered.carrier = "DHL"
            delivered.trackingNumber = "JJD2"
            // Automatic confirmation in 10 s: the reminder is due 6 s before, in about 4 s.
            let autoConfirm = Date().addingTimeInterval(10)
            try await service.publishOrder("order.shipped", reminded, autoConfirmAt: autoConfirm)
            try await service.publishOrder("order.shipped", delivered, autoConfirmAt: autoConfirm)
            try await service.publishOrder("order.delivered", delivered)
            let sink = MailSink.shared
            #expect(try await service.eventually { try sink.messages(to: fixture.buyerEmail).contains { $0.kind == "confirm_delivery_reminder" } })
            try await Task.sleep(for: .seconds(1))
            let reminders = try sink.messages(to: fixture.buyerEmail).filter { $0.kind == "confirm_delivery_reminder" }
            #expect(reminders.count == 1)
            #expect(reminders.first?.subject.contains(reminded.orderNumber) == true)
            #expect(try await service.eventually {
                try sink.messages(to: fixture.buyerEmail).contains { $0.kind == "delivery_confirmed" && $0.subject.contains(delivered.orderNumber) }
            })
        }
    }
}
