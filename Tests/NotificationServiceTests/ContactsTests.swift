import Foundation
import Messaging
import PostgresNIO
import ServiceRuntime
import Testing
import TestSupport

@testable import NotificationService

@Suite struct ContactsTests {
    /// An event's users' addresses are recorded in one statement: a user named twice keeps the
    /// last address, malformed and missing ones are ignored, and only a new or changed address
    /// wakes the mail that waited for one.
    @Test func addressesAreLearntTogetherAndWakeOnlyTheMailThatWaitedForThem() async throws {
        let migrations = try MessagingMigrations.all() + ServiceDefinition.notificationService.migrations()
        try await TestDatabase.withSchema(migrations: migrations) { database in
            let logger = TestEnvironment.logger
            let projection = ProjectionStore(logger: logger)
            let store = NotificationStore(logger: logger, messageIdDomain: "escrowmarket.test")
            try await database.client.withConnection { connection in
                for user in ["late", "seller"] {
                    try await store.enqueue(
                        RenderedEmail(subject: "Hello", text: "Hello", html: "<p>Hello</p>"), kind: .orderConfirmation,
                        to: .user(user), orderId: nil, source: UUID(), on: connection)
                }
            }
            // Both wait for an address, backing off for an hour.
            try await database.client.query(
                "UPDATE notifications SET status = 'failed', next_attempt_at = now() + interval '1 hour'", logger: logger)
            let woken: PostgresQuery = "SELECT count(*)::int FROM notifications WHERE next_attempt_at <= now()"

            try await database.client.withConnection { connection in
                try await projection.remember(
                    [("seller", "seller@example.test"), ("buyer", "old@example.test"), ("buyer", "buyer@example.test"),
                     ("odd", "not an address"), ("none", nil)],
                    on: connection)
            }
            let contacts = try await database.client.query("SELECT user_id, email FROM contacts ORDER BY user_id", logger: logger)
                .decode((String, String).self).all()
            #expect(contacts.map(\.0) == ["buyer", "seller"])
            #expect(contacts.map(\.1) == ["buyer@example.test", "seller@example.test"])
            #expect(try await database.count(woken) == 1)
            #expect(try await database.count("SELECT count(*)::int FROM notifications WHERE recipient_id = 'seller' AND next_attempt_at <= now()") == 1)

            // An address already known wakes nothing; a new one wakes its user's mail.
            try await database.client.query("UPDATE notifications SET next_attempt_at = now() + interval '1 hour'", logger: logger)
            try await database.client.withConnection { connection in
                try await projection.remember([("seller", "seller@example.test"), ("late", "late@example.test")], on: connection)
            }
            #expect(try await database.count(woken) == 1)
            #expect(try await database.count("SELECT count(*)::int FROM notifications WHERE recipient_id = 'late' AND next_attempt_at <= now()") == 1)
        }
    }
}
