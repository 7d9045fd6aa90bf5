import Foundation
import Logging
import Messaging
import Persistence
import PostgresNIO

/// A schema of its own for one test, migrated with the messaging tables, dropped afterwards.
public struct TestDatabase: Sendable {
    public let schema: String
    public let client: PostgresClient
    public let configuration: DatabaseConfiguration

    /// Runs `body` with a running client on a fresh schema.
    public static func withSchema<Result: Sendable>(
        prefix: String = "test", migrations: [Migration]? = nil,
        _ body: @Sendable (TestDatabase) async throws -> Result
    ) async throws -> Result {
        let schema = TestEnvironment.uniqueName(prefix)
        try await admin { try await $0.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"), logger: TestEnvironment.logger) }
        let configuration = try DatabaseConfiguration(url: TestEnvironment.databaseURL, schema: schema, maximumConnections: 20)
        let database = TestDatabase(
            schema: schema,
            client: PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: TestEnvironment.logger),
            configuration: configuration)
        let result = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            try await Migrator(client: database.client, schema: schema, logger: TestEnvironment.logger)
                .migrate(try migrations ?? MessagingMigrations.all())
            do {
                return try await body(database)
            } catch {
                // A PSQLError's description hides its details; the test log needs them.
                TestEnvironment.logger.error("test failed in schema \(schema)", metadata: ["error": "\(String(reflecting: error))"])
                throw error
            }
        }
        try? await admin {
            try await $0.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE"), logger: TestEnvironment.logger)
        }
        return result
    }

    /// Runs statements as the superuser on a short-lived connection.
    public static func admin(_ body: (PostgresConnection) async throws -> Void) async throws {
        let configuration = try DatabaseConfiguration(url: TestEnvironment.databaseURL, schema: "public")
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: configuration.host, port: configuration.port, username: configuration.username,
                password: configuration.password, database: configuration.database, tls: .disable),
            id: 1, logger: TestEnvironment.logger)
        do {
            try await body(connection)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// Number of rows a count query returns.
    public func count(_ query: PostgresQuery) async throws -> Int {
        try await client.query(query, logger: TestEnvironment.logger).decode(Int.self).all().first ?? 0
    }

    /// Statuses whose count kept in `countsTable` (`KeptStatusCounts`) is not `table`'s count.
    public func keptCountsDiffering(_ countsTable: String, from table: String) async throws -> Int {
        try await count(
            """
            SELECT count(*) FROM (SELECT status, sum(count) AS n FROM \(unescaped: countsTable) GROUP BY status HAVING sum(count) <> 0) k
            FULL JOIN (SELECT status, count(*) AS n FROM \(unescaped: table) GROUP BY status) t USING (status)
            WHERE k.n IS DISTINCT FROM t.n
            """)
    }
}
