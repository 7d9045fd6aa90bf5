import Foundation
import PostgresNIO
import Testing
import TestSupport

@testable import Persistence

@Suite struct PreparedSQLTests {
    @Test func everySlotNumberIsATypeOfItsOwn() {
        var names = Set<String>()
        for index in 1...300 {
            let tag = StatementTags.tag(for: index)
            #expect(tag.index == index)
            names.insert(String(reflecting: tag))
        }
        #expect(names.count == 300)
    }

    @Test func aStatementHasOneSlotPerParameterTypeList() {
        let registry = StatementRegistry(capacity: 3)
        let id: UUID? = UUID()
        let none: UUID? = nil
        let withValue: PreparedSQL = "SELECT \(id)"
        let withNull: PreparedSQL = "SELECT \(none)"
        let first = registry.slot(sql: withValue.sql, types: withValue.types)
        #expect(first?.index == 1)
        #expect(registry.slot(sql: withValue.sql, types: withValue.types)?.index == 1)
        #expect(registry.slot(sql: withNull.sql, types: withNull.types)?.index == 2)
        #expect(registry.slot(sql: "SELECT 2", types: [])?.index == 3)
        // Full: a new statement gets no slot (it runs unprepared), the known ones keep theirs.
        #expect(registry.slot(sql: "SELECT 3", types: []) == nil)
        #expect(registry.slot(sql: withNull.sql, types: withNull.types)?.index == 2)
    }

    @Test func preparedStatementsAnswerLikeQueries() async throws {
        try await TestDatabase.withSchema { database in
            try await database.client.withConnection { connection in
                try await connection.query("CREATE TABLE things (id uuid PRIMARY KEY, name text, size int4)", logger: TestEnvironment.logger)
                let ids = (0..<3).map { _ in UUID() }
                for (index, id) in ids.enumerated() {
                    // An Int against an int4 column, and a NULL then a value: the declared types decide.
                    let name: String? = index == 1 ? nil : "thing \(index)"
                    try await connection.query(
                        prepared: "INSERT INTO things (id, name, size) VALUES (\(id), \(name), \(index * 10))", logger: TestEnvironment.logger)
                }
                for (index, id) in ids.enumerated() {
                    let row = try await connection.query(
                        prepared: "SELECT name, size FROM things WHERE id = \(id)", logger: TestEnvironment.logger
                    ).decode((String?, Int).self).all()
                    #expect(row.count == 1)
                    #expect(row.first?.0 == (index == 1 ? nil : "thing \(index)"))
                    #expect(row.first?.1 == index * 10)
                }
                let prepared = try await connection.query(
                    "SELECT count(*)::int8 FROM pg_prepared_statements WHERE statement LIKE '%things%'", logger: TestEnvironment.logger
                ).decode(Int.self).all()
                // The INSERT with a name, the INSERT with a NULL name, the SELECT.
                #expect(prepared == [3])
            }
        }
    }

    /// postgres-nio keeps a failed preparation for the connection's life. A statement first met
    /// inside an aborted transaction must still work on that connection afterwards.
    @Test func aStatementFirstMetInAnAbortedTransactionStillRunsAfterIt() async throws {
        try await TestDatabase.withSchema { database in
            try await database.client.withConnection { connection in
                let marker = UUID()
                try await Self.failFirstRunInAnAbortedTransaction("SELECT \(marker)::uuid", on: connection)
                for _ in 0..<3 {
                    let answer = try await connection.query(prepared: "SELECT \(marker)::uuid", logger: TestEnvironment.logger)
                        .decode(UUID.self).all()
                    #expect(answer == [marker])
                }
            }
        }
    }

    /// Connection ids start at 0 in every pool. A statement prepared on one pool's connection
    /// says nothing of another pool's connection with the same id.
    @Test func aConnectionIsKnownByItselfNotByItsId() async throws {
        try await TestDatabase.withSchema { database in
            var configuration = database.configuration
            configuration.maximumConnections = 1
            let first = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: TestEnvironment.logger)
            let second = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: TestEnvironment.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await first.run() }
                group.addTask { await second.run() }
                defer { group.cancelAll() }
                let marker = UUID()
                let firstId = try await first.withConnection { connection in
                    let answer = try await connection.query(prepared: "SELECT \(marker)::uuid AS again", logger: TestEnvironment.logger)
                        .decode(UUID.self).all()
                    #expect(answer == [marker])
                    return connection.id
                }
                try await second.withConnection { connection in
                    try #require(connection.id == firstId, "both pools number their first connection alike")
                    try await Self.failFirstRunInAnAbortedTransaction("SELECT \(marker)::uuid AS again", on: connection)
                    let answer = try await connection.query(prepared: "SELECT \(marker)::uuid AS again", logger: TestEnvironment.logger)
                        .decode(UUID.self).all()
                    #expect(answer == [marker])
                }
            }
        }
    }

    /// Runs `statement` for the first time on `connection` inside a transaction an error has
    /// aborted (so its preparation fails), then rolls back.
    static func failFirstRunInAnAbortedTransaction(_ statement: PreparedSQL, on connection: PostgresConnection) async throws {
        try await connection.query("BEGIN", logger: TestEnvironment.logger)
        await #expect(throws: PSQLError.self) {
            try await connection.query("SELECT 1 / 0", logger: TestEnvironment.logger)
        }
        await #expect(throws: PSQLError.self) {
            try await connection.query(prepared: statement, logger: TestEnvironment.logger)
        }
        try await connection.query("ROLLBACK", logger: TestEnvironment.logger)
    }
}
