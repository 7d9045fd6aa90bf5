import Logging
import PostgresNIO

/// Applies numbered migrations to one schema, once each, under an advisory lock so that two
/// instances starting together never race; applied migrations are recorded in the same schema.
public struct Migrator: Sendable {
    let client: PostgresClient
    let schema: String
    let logger: Logger

    public init(client: PostgresClient, schema: String, logger: Logger) {
        self.client = client
        self.schema = schema
        self.logger = logger
    }

    /// Runs every migration not yet applied, in order; fails if an applied one has changed.
    public func migrate(_ migrations: [Migration]) async throws {
        try await client.withConnection { connection in
            let exists = try await connection.query(
                "SELECT 1 FROM pg_namespace WHERE nspname = \(schema)", logger: logger
            ).collect()
            guard !exists.isEmpty else {
                throw PersistenceError(
                    code: "schema_missing",
                    message: "schema '\(schema)' does not exist; create it with its role (deploy/postgres/init.sql)")
            }
            try await connection.query(
                "SELECT pg_advisory_lock(\(AdvisoryLock.migrations), hashtext(\(schema)))", logger: logger)
            do {
                try await apply(migrations, on: connection)
            } catch {
                _ = try? await connection.query(
                    "SELECT pg_advisory_unlock(\(AdvisoryLock.migrations), hashtext(\(schema)))", logger: logger)
                throw error
            }
            try await connection.query(
                "SELECT pg_advisory_unlock(\(AdvisoryLock.migrations), hashtext(\(schema)))", logger: logger)
        }
    }

    private func apply(_ migrations: [Migration], on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                id text PRIMARY KEY,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
        var applied: [String: String] = [:]
        for try await (id, checksum) in try await connection.query(
            "SELECT id, checksum FROM schema_migrations", logger: logger
        ).decode((String, String).self) {
            applied[id] = checksum
        }
        for migration in migrations {
            if let checksum = applied[migration.id] {
                guard checksum == migration.checksum else {
                    throw PersistenceError(
                        code: "migration_changed",
                        message: "migration \(migration.id) was changed after it was applied to '\(schema)'")
                }
                continue
            }
            try await connection.withTransaction(logger: logger) { connection in
                for statement in SQLScript.statements(in: migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (id, checksum) VALUES (\(migration.id), \(migration.checksum))",
                    logger: logger)
            }
            logger.info("applied migration", metadata: ["migration": "\(migration.id)", "schema": "\(schema)"])
        }
    }
}

/// First keys of the two-key advisory locks, so the project's locks never collide with each other.
public enum AdvisoryLock {
    public static let migrations: Int32 = 70_001
    public static let outboxRelay: Int32 = 70_002
    public static let outboxAggregate: Int32 = 70_003
    /// NotificationService: a checkout's receipt and its orders' events, one at a time.
    public static let receiptCheckout: Int32 = 70_004
    /// A deferred event's prerequisite, while it is checked or resumed.
    public static let deferredEvents: Int32 = 70_005
    /// EscrowService: one buyer's wallet, while its balance is checked and moved.
    public static let buyerWallet: Int32 = 70_007
}
