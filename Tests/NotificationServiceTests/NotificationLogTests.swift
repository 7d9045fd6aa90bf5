import EventContracts
import Foundation
import Testing
import TestSupport

@testable import NotificationService

@Suite struct NotificationLogTests {
    @Test func callersListTheirOwnNotificationsPageByPage() async throws {
        try await ServiceHarness.notifications { service in
            let fixture = Fixture()
            let orders = (0..<3).map { _ in fixture.order() }
            for order in orders { try await service.publishOrder("order.placed", order) }
            try await service.publishOrder("order.paid", orders[0])
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM notifications WHERE status = 'sent'") == 4 })

            let first = try await service.call(.get, "/api/v1/notifications?limit=2", as: fixture.buyer, roles: ["buyer"]).json()
            let firstItems = try (first["items"] as? [[String: Any]]).orThrow("items")
            #expect(firstItems.count == 2)
            #expect(firstItems.allSatisfy { $0["kind"] as? String == "order_confirmation" && $0["status"] as? String == "sent" })
            let cursor = try (first["nextCursor"] as? String).orThrow("cursor")
            let second = try await service.call(.get, "/api/v1/notifications?limit=2&cursor=\(cursor)", as: fixture.buyer, roles: ["buyer"]).json()
            let secondItems = try (second["items"] as? [[String: Any]]).orThrow("items")
            #expect(secondItems.count == 1)
            #expect(second["nextCursor"] == nil || second["nextCursor"] is NSNull)
            let ids = Set((firstItems + secondItems).compactMap { $0["id"] as? String })
            #expect(ids.count == 3)

            let seller = try await service.call(.get, "/api/v1/notifications", as: fixture.seller, roles: ["seller"]).json()
            #expect((seller["items"] as? [[String: Any]])?.map { $0["kind"] as? String } == ["new_paid_order"])
            let all = try await service.call(.get, "/api/v1/notifications?as=admin", as: "ops", roles: ["admin"]).json()
            #expect((all["items"] as? [Any])?.count == 4)

            #expect(try await service.call(.get, "/api/v1/notifications?as=admin", as: fixture.buyer, roles: ["buyer"]).status == .forbidden)
            let bad = try await service.call(.get, "/api/v1/notifications?cursor=garbage", as: fixture.buyer, roles: ["buyer"])
            #expect(bad.status == .badRequest)
            #expect(bad.headers[.contentType] == "application/problem+json")
        }
    }

    /// Senders claim several mails per statement: 24 mails over 4 senders taking 5 at a time
    /// each go out exactly once.
    @Test func mailsClaimedInBatchesAreEachSentOnce() async throws {
        try await ServiceHarness.notifications(environment: ["NOTIFY_SENDERS": "4", "NOTIFY_CLAIM_BATCH": "5"]) { service in
            let fixture = Fixture()
            let orders = (0..<24).map { _ in fixture.order() }
            for order in orders { try await service.publishOrder("order.placed", order) }
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*) FROM notifications WHERE status = 'sent'") == 24
            })
            let mails = try MailSink.shared.messages(to: fixture.buyerEmail)
            #expect(mails.count == 24 && Set(mails.map(\.messageId)).count == 24)
            #expect(try await service.database.count("SELECT max(attempts) FROM notifications") == 1)
        }
    }

    @Test func aSendInterruptedByACrashIsRetriedWithTheSameMessageID() async throws {
        try await ServiceHarness.notifications(environment: ["NOTIFY_SENDING_TIMEOUT_SECONDS": "1"]) { service in
            let fixture = Fixture()
            let order = fixture.order()
            try await service.publishOrder("order.placed", order)
            #expect(try await service.eventually { try await service.notificationStatuses("order_confirmation") == ["sent"] })
            let first = try MailSink.shared.messages(to: fixture.buyerEmail)
            #expect(first.count == 1)
            // As if the instance died after claiming the mail and before recording the outcome.
            try await service.database.client.query(
                "UPDATE notifications SET status = 'sending', sending_since = now() - interval '1 minute'",
                logger: TestEnvironment.logger)
            #expect(try await service.eventually { try MailSink.shared.messages(to: fixture.buyerEmail).count == 2 })
            let both = try MailSink.shared.messages(to: fixture.buyerEmail)
            #expect(both[0].messageId == both[1].messageId)
            // The mail can land a moment before the row is marked sent.
            #expect(try await service.eventually { try await service.notificationStatuses("order_confirmation") == ["sent"] })
            #expect(try await service.database.count("SELECT attempts FROM notifications") == 2)
        }
    }
}
