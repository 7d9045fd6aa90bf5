import Persistence
import PostgresNIO
import Testing
import TestSupport

@Suite struct ClosedConnectionTests {
    /// A relay or listener that closes its leased connection (to drop a session lock) must not
    /// hand it back to the pool as idle: the next caller would get `clientClosedConnection`. The
    /// close is waited for even from a cancelled task, which is how a shutting-down relay ends.
    @Test func aConnectionClosedDuringItsLeaseIsNeverLentAgain() async throws {
        try await TestDatabase.withSchema { database in
            var configuration = database.configuration
            configuration.maximumConnections = 1
            let client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: TestEnvironment.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                for round in 0..<20 {
                    let closing = Task {
                        try await client.withConnection { connection in
                            withUnsafeCurrentTask { $0?.cancel() }
                            await connection.closeBeforeLeaseEnds()
                            #expect(connection.isClosed)
                        }
                    }
                    try await closing.value
                    // The only connection the pool may hold was closed: this one is new.
                    let answer = try await client.query("SELECT \(round)::int8", logger: TestEnvironment.logger)
                        .decode(Int.self).all()
                    #expect(answer == [round])
                }
            }
        }
    }
}
