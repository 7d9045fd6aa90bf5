import Logging
import PostgresNIO
import Synchronization
import Testing
import TestSupport

@testable import Messaging

/// A transaction's end work runs in `runOrder`, whatever order its handlers asked for it in: work
/// that locks rows (contacts, then the receipt counter) locks them in one order everywhere.
@Suite struct TransactionEndTests {
    final class Ran: Sendable {
        let names = Mutex<[String]>([])
    }

    final class Early: TransactionEndWork {
        let ran: Ran
        init(_ ran: Ran) { self.ran = ran }
        func run(on connection: PostgresConnection, logger: Logger) async throws { ran.names.withLock { $0.append("early") } }
    }

    final class Late: TransactionEndWork {
        static let runOrder = 1
        let ran: Ran
        init(_ ran: Ran) { self.ran = ran }
        func run(on connection: PostgresConnection, logger: Logger) async throws { ran.names.withLock { $0.append("late") } }
    }

    final class AlsoEarly: TransactionEndWork {
        let ran: Ran
        init(_ ran: Ran) { self.ran = ran }
        func run(on connection: PostgresConnection, logger: Logger) async throws { ran.names.withLock { $0.append("also early") } }
    }

    @Test func endWorkRunsInItsOrderOnceEach() async throws {
        try await TestDatabase.withSchema(migrations: []) { database in
            try await database.client.withConnection { connection in
                let ran = Ran()
                let end = BeforeCommit()
                _ = end.shared(Late.self) { Late(ran) }
                _ = end.shared(Early.self) { Early(ran) }
                _ = end.shared(Late.self) { Late(ran) }
                _ = end.shared(AlsoEarly.self) { AlsoEarly(ran) }
                try await end.run(on: connection, logger: TestEnvironment.logger)
                try await end.run(on: connection, logger: TestEnvironment.logger)
                #expect(ran.names.withLock { $0 } == ["early", "also early", "late"])
            }
        }
    }
}
