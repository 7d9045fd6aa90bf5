import EventContracts
import Foundation
import Testing
import TestSupport

@testable import NotificationService

@Suite struct SMTPOutageTests {
    @Test func mailQueuedWhileTheServerIsDownIsDeliveredOnceItReturns() async throws {
        let own = try OwnMailSink()
        defer { own.stop() }
        try await ServiceHarness.notifications(sink: own.sink, environment: ["NOTIFY_MAX_ATTEMPTS": "100"]) { service in
            own.stop()
            let fixture = Fixture()
            let orders = (0..<4).map { _ in fixture.order() }
            for order in orders { try await service.publishOrder("order.placed", order) }
            // Every one is tried and fails while the server is down.
            #expect(try await service.eventually {
                try await service.database.count(
                    "SELECT count(*) FROM notifications WHERE status = 'failed' AND attempts >= 2 AND last_error IS NOT NULL") == 4
            })
            #expect(try own.sink.messages(to: fixture.buyerEmail).isEmpty)

            try own.start()
            #expect(try await service.eventually { try await service.notificationStatuses("order_confirmation") == Array(repeating: "sent", count: 4) })
            try await Task.sleep(for: .seconds(2))
            let mails = try own.sink.messages(to: fixture.buyerEmail)
            #expect(mails.count == 4)
            #expect(Set(mails.map(\.messageId)).count == 4)
            #expect(Set(mails.compactMap { mail in orders.first { mail.subject.contains($0.orderNumber) }?.orderId }).count == 4)
        }
    }

    @Test func mailToAnAddressNotYetKnownWaitsForIt() async throws {
        try await ServiceHarness.notifications(environment: ["NOTIFY_MAX_ATTEMPTS": "100"]) { service in
            // No address known for this seller: the notification waits, failed, never dead.
            let fixture = Fixture()
            var order = fixture.order()
            order.sellerEmail = nil
            try await service.publishOrder("order.paid", order)
            #expect(try await service.eventually {
                try await service.database.count(
                    "SELECT count(*) FROM notifications WHERE kind = 'new_paid_order' AND status = 'failed' AND attempts >= 2") == 1
            })
            // The address arrives with a later event: the same notification goes out.
            let account = SellerAccountUpdated(
                sellerId: fixture.seller, sellerEmail: fixture.sellerEmail, accountId: "acct_1", chargesEnabled: true,
                payoutsEnabled: true, currentlyDue: [])
            try await service.publish(account, topic: Topic.escrow, aggregateId: fixture.seller)
            #expect(try await service.eventually { try await service.notificationStatuses("new_paid_order") == ["sent"] })
            #expect(try MailSink.shared.messages(to: fixture.sellerEmail).count == 1)
        }
    }
}
