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

    /// A consumer transaction's addresses are written once, at its end, the last per user
    /// counting across its events; an address already known takes no row lock (another
    /// transaction holding the row does not make this one wait).
    @Test func aTransactionsAddressesAreWrittenAtItsEndWithoutLockingKnownOnes() async throws {
        let migrations = try MessagingMigrations.all() + ServiceDefinition.notificationService.migrations()
        try await TestDatabase.withSchema(migrations: migrations) { database in
            let logger = TestEnvironment.logger
            let projection = ProjectionStore(logger: logger)
            try await database.client.withConnection { connection in
                try await projection.remember([("seller", "seller@example.test")], on: connection)
            }
            let updates = ContactUpdates(projection: projection)
            updates.add([("buyer", "first@example.test"), ("seller", "seller@example.test")])
            updates.add([("zed", "zed@example.test"), ("buyer", "buyer@example.test")])
            #expect(try await database.count("SELECT count(*)::int FROM contacts") == 1)
            try await withThrowingTaskGroup(of: Void.self) { group in
                let holding = AsyncStream<Void>.makeStream()
                let release = AsyncStream<Void>.makeStream()
                // Another transaction holds the known seller's row until told to let go.
                group.addTask {
                    try await database.client.withTransaction(logger: logger) { connection in
                        try await connection.query("SELECT 1 FROM contacts WHERE user_id = 'seller' FOR UPDATE", logger: logger)
                        holding.continuation.yield()
                        var wait = release.stream.makeAsyncIterator()
                        _ = await wait.next()
                    }
                }
                var held = holding.stream.makeAsyncIterator()
                _ = await held.next()
                var failure: (any Error)?
                do {
                    try await database.client.withTransaction(logger: logger) { connection in
                        try await connection.query("SET LOCAL lock_timeout = '2s'", logger: logger)
                        try await updates.run(on: connection, logger: logger)
                    }
                } catch {
                    failure = error
                }
                release.continuation.yield()
                try await group.waitForAll()
                if let failure { throw failure }
            }
            let contacts = try await database.client.query("SELECT user_id, email FROM contacts ORDER BY user_id", logger: logger)
                .decode((String, String).self).all()
            #expect(contacts.map(\.0) == ["buyer", "seller", "zed"])
            #expect(contacts.map(\.1) == ["buyer@example.test", "seller@example.test", "zed@example.test"])
            // Run once: a second run writes nothing more.
            try await database.client.withConnection { connection in try await updates.run(on: connection, logger: logger) }
            #expect(try await database.count("SELECT count(*)::int FROM contacts") == 3)
        }
    }
}
