import Persistence
import PostgresNIO
import Testing
import TestSupport

@Suite struct TransactionRetryTests {
    let rows = Migration(id: "demo/0001_rows", sql: "CREATE TABLE rows (id int PRIMARY KEY, n int NOT NULL); INSERT INTO rows VALUES (1, 0), (2, 0);")

    /// Two transactions lock the same two rows in opposite orders: Postgres kills one with
    /// 40P01, and the helper runs it again instead of handing the deadlock to the caller.
    @Test func aDeadlockedTransactionRunsAgainAndBothCommit() async throws {
        try await TestDatabase.withSchema(migrations: [rows]) { database in
            let runs = SharedCounter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for order in [[1, 2], [2, 1]] {
                    group.addTask {
                        try await database.client.inTransaction(logger: TestEnvironment.logger) { connection in
                            runs.add()
                            for id in order {
                                try await connection.query("UPDATE rows SET n = n + 1 WHERE id = \(id)", logger: TestEnvironment.logger)
                                // Both hold their first row before either asks for its second.
                                try await connection.query("SELECT pg_sleep(0.3)", logger: TestEnvironment.logger)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await database.count("SELECT sum(n)::int8 FROM rows") == 4)
            #expect(runs.current == 3, "one of the two ran twice")
        }
    }

    @Test func aDomainErrorIsNotRetriedAndReachesTheCaller() async throws {
        struct Refused: Error {}
        try await TestDatabase.withSchema(migrations: [rows]) { database in
            let runs = SharedCounter()
            await #expect(throws: Refused.self) {
                try await database.client.inTransaction(logger: TestEnvironment.logger) { _ in
                    runs.add()
                    throw Refused()
                }
            }
            #expect(runs.current == 1)
        }
    }

    @Test func transientErrorsAreToldFromTheRest() {
        #expect(TransientErrors.isTransient(PersistenceError(code: "x", message: "y", isRetriable: true)))
        #expect(!TransientErrors.isTransient(PersistenceError(code: "x", message: "y")))
        #expect(TransientErrors.isTransient(CancellationError()))
    }
}
