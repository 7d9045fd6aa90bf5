import Foundation
import PostgresNIO
import Testing
import TestSupport

@testable import ServiceRuntime

/// The key's claim against real Postgres: a request racing the first one with its key waits for
/// it at most the bound, while the first request's own statements wait without one.
@Suite struct IdempotencyClaimTests {
    @Test func aRacingClaimWaitsAtMostTheBoundAndTheWinnersStatementsAreUnbounded() async throws {
        try await TestDatabase.withSchema(migrations: try IdempotencyStore.migrations()) { database in
            let logger = TestEnvironment.logger
            let store = IdempotencyStore(client: database.client, logger: logger, waitForFirst: .seconds(1))
            let (holding, hold) = AsyncStream.makeStream(of: String.self)
            let (released, release) = AsyncStream.makeStream(of: Void.self)
            let first = Task {
                try await database.client.inTransaction(logger: logger) { connection in
                    let claimed = try await store.claim(userId: "u-1", key: "k-1", hash: "h", on: connection)
                    var timeout = ""
                    for try await value in try await connection.query("SHOW lock_timeout", logger: logger).decode(String.self) {
                        timeout = value
                    }
                    hold.yield(claimed ? timeout : "not claimed")
                    for await _ in released { break }
                }
            }
            var iterator = holding.makeAsyncIterator()
            #expect(await iterator.next() == "0")
            // Were the racing claim unbounded, it would wait for this, then find the key taken.
            let backstop = Task {
                try await Task.sleep(for: .seconds(5))
                release.yield()
            }

            let started = ContinuousClock.now
            let error = await #expect(throws: PSQLError.self) {
                try await database.client.inTransaction(logger: logger) { connection in
                    _ = try await store.claim(userId: "u-1", key: "k-1", hash: "h", on: connection)
                }
            }
            let waited = ContinuousClock.now - started
            #expect(error?.serverInfo?[.sqlState] == "55P03")
            #expect(waited >= .milliseconds(900) && waited < .seconds(4), "\(waited)")

            release.yield()
            backstop.cancel()
            try await first.value
            let again = try await database.client.inTransaction(logger: logger) { connection in
                try await store.claim(userId: "u-1", key: "k-1", hash: "h", on: connection)
            }
            #expect(!again)
            let other = try await database.client.inTransaction(logger: logger) { connection in
                try await store.claim(userId: "u-2", key: "k-1", hash: "h", on: connection)
            }
            #expect(other)
        }
    }
}
