import EventContracts
import Foundation
import Logging
import Persistence
import PostgresNIO

/// Gateway commands in the service's own schema.
public struct GatewayCommandStore: Sendable {
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Records a command in the caller's transaction (the one that decides the movement). A command
    /// with the same idempotency key is the same command: the stored one is returned.
    @discardableResult
    public func enqueue(_ command: GatewayCommand, on connection: PostgresConnection) async throws -> GatewayCommand {
        try await enqueue(command, claim: nil, on: connection).command
    }

    /// Records a command as `enqueue` does; with `claim`, a new command is recorded already claimed
    /// (its first attempt taken, as `claim` would after the commit). Says whether this call
    /// recorded it: an existing command with the key is returned as it stands, unclaimed by us.
    func enqueue(
        _ command: GatewayCommand, claim: (claimer: String, lease: Duration)?, on connection: PostgresConnection
    ) async throws -> (command: GatewayCommand, inserted: Bool) {
        let parameters = String(decoding: try JSONEncoder().encode(command.parameters), as: UTF8.self)
        // Unclaimed: no attempt yet, due now. Claimed: the first attempt taken, due again when the lease runs out.
        let leaseSeconds = claim?.lease.inSeconds ?? 0
        let inserted = try await connection.query(prepared:
            """
            INSERT INTO gateway_commands (id, kind, subject, amount, currency, idempotency_key, parameters, correlation_id, causation_id,
                attempts, claimed_by, first_attempt_at, next_attempt_at)
            VALUES (\(command.id), \(command.kind), \(command.subject), \(command.amount), \(command.currency), \(command.idempotencyKey),
                \(parameters)::jsonb, \(command.correlationId), \(command.causationId),
                \(claim == nil ? 0 : 1), \(claim?.claimer), CASE WHEN \(claim != nil) THEN now() END,
                now() + make_interval(secs => \(leaseSeconds)))
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING \(unescaped: GatewayCommand.columns)
            """, logger: logger
        ).collect()
        let rows = inserted.isEmpty
            ? try await connection.query(prepared:
                "SELECT \(unescaped: GatewayCommand.columns) FROM gateway_commands WHERE idempotency_key = \(command.idempotencyKey)",
                logger: logger
            ).collect()
            : inserted
        guard let row = rows.first else { throw CommandVanished(idempotencyKey: command.idempotencyKey) }
        let stored = try GatewayCommand(row: row)
        logger.info(
            inserted.isEmpty ? "gateway command already recorded" : "gateway command recorded",
            metadata: ["command_id": "\(stored.id)", "kind": "\(stored.kind)", "subject": "\(stored.subject)", "amount": "\(stored.amount)"])
        return (stored, !inserted.isEmpty)
    }

    /// The key conflicted, yet no row holds it: it was deleted in between (never in normal operation).
    struct CommandVanished: Error, CustomStringConvertible {
        let idempotencyKey: String
        var description: String { "gateway command with key \(idempotencyKey) neither inserted nor found" }
    }

    /// Takes up to `limit` due commands for `claimer` until `lease` has passed (after that another
    /// worker may take them: the same key makes a second attempt harmless).
    func claimDue(limit: Int, lease: Duration, claimer: String, on client: PostgresClient) async throws -> [GatewayCommand] {
        try await client.query(
            """
            UPDATE gateway_commands SET attempts = attempts + 1, claimed_by = \(claimer),
                first_attempt_at = COALESCE(first_attempt_at, now()),
                next_attempt_at = now() + make_interval(secs => \(lease.inSeconds))
            WHERE id IN (
                SELECT id FROM gateway_commands WHERE status = 'pending' AND next_attempt_at <= now()
                ORDER BY next_attempt_at, created_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: GatewayCommand.columns)
            """, logger: logger
        ).collect().map(GatewayCommand.init(row:)).sorted { $0.createdAt < $1.createdAt }
    }

    /// Takes one command now if it is pending and nobody holds it (to run it right after the
    /// request that decided it, instead of waiting for the worker's next pass).
    func claim(_ id: UUID, lease: Duration, claimer: String, on client: PostgresClient) async throws -> GatewayCommand? {
        try await client.query(
            """
            UPDATE gateway_commands SET attempts = attempts + 1, claimed_by = \(claimer),
                first_attempt_at = COALESCE(first_attempt_at, now()),
                next_attempt_at = now() + make_interval(secs => \(lease.inSeconds))
            WHERE id = (SELECT id FROM gateway_commands WHERE id = \(id) AND status = 'pending' AND next_attempt_at <= now()
                FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: GatewayCommand.columns)
            """, logger: logger
        ).collect().first.map(GatewayCommand.init(row:))
    }

    /// Commands this claimer held when it stopped (a restart of the same instance): due again now.
    func releaseClaims(of claimer: String, on client: PostgresClient) async throws {
        try await client.query(
            "UPDATE gateway_commands SET next_attempt_at = now() WHERE claimed_by = \(claimer) AND status = 'pending'", logger: logger)
    }

    func lock(_ id: UUID, on connection: PostgresConnection) async throws -> GatewayCommand? {
        try await connection.query(prepared:
            "SELECT \(unescaped: GatewayCommand.columns) FROM gateway_commands WHERE id = \(id) FOR UPDATE", logger: logger
        ).collect().first.map(GatewayCommand.init(row:))
    }

    /// Records the command's final outcome and returns it as it now stands.
    @discardableResult
    func complete(
        _ id: UUID, as status: GatewayCommand.Status, resultId: String?, error: String?, on connection: PostgresConnection
    ) async throws -> GatewayCommand? {
        try await connection.query(prepared:
            """
            UPDATE gateway_commands SET status = \(status.rawValue), result_id = \(resultId), last_error = \(error),
                completed_at = now(), claimed_by = NULL
            WHERE id = \(id)
            RETURNING \(unescaped: GatewayCommand.columns)
            """, logger: logger
        ).collect().first.map(GatewayCommand.init(row:))
    }

    /// No usable answer: due again after `delay`, same key.
    func retryLater(_ id: UUID, claimer: String, error: String, delay: Duration, on client: PostgresClient) async throws {
        try await client.query(
            """
            UPDATE gateway_commands SET last_error = \(String(error.prefix(1000))), claimed_by = NULL,
                next_attempt_at = now() + make_interval(secs => \(delay.inSeconds))
            WHERE id = \(id) AND status = 'pending' AND claimed_by = \(claimer)
            """, logger: logger)
    }

    public func find(_ id: UUID, on connection: PostgresConnection) async throws -> GatewayCommand? {
        try await connection.query(prepared:
            "SELECT \(unescaped: GatewayCommand.columns) FROM gateway_commands WHERE id = \(id)", logger: logger
        ).collect().first.map(GatewayCommand.init(row:))
    }

    /// Commands for a record, oldest first (e.g. every release attempt of an escrow).
    public func commands(subject: String, kind: String? = nil, on connection: PostgresConnection) async throws -> [GatewayCommand] {
        try await connection.query(prepared:
            """
            SELECT \(unescaped: GatewayCommand.columns) FROM gateway_commands
            WHERE subject = \(subject) AND (\(kind)::text IS NULL OR kind = \(kind)) ORDER BY created_at, id
            """, logger: logger
        ).collect().map(GatewayCommand.init(row:))
    }

    /// For admins: commands by status, the oldest first.
    public func list(status: GatewayCommand.Status?, limit: Int, on connection: PostgresConnection) async throws -> [GatewayCommand] {
        try await connection.query(prepared:
            """
            SELECT \(unescaped: GatewayCommand.columns) FROM gateway_commands
            WHERE (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue)) ORDER BY created_at, id LIMIT \(limit)
            """, logger: logger
        ).collect().map(GatewayCommand.init(row:))
    }

    /// Makes a pending command due now (an operator after fixing what kept it failing).
    public func retryNow(_ id: UUID, on connection: PostgresConnection) async throws -> Bool {
        !(try await connection.query(prepared:
            "UPDATE gateway_commands SET next_attempt_at = now() WHERE id = \(id) AND status = 'pending' RETURNING 1", logger: logger
        ).collect().isEmpty)
    }

    /// Pending commands and the age of the oldest, for metrics and readiness.
    public func backlog(on client: PostgresClient) async throws -> (count: Int64, oldestSeconds: Double) {
        let rows = try await client.query(
            """
            SELECT count(*)::int8, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8
            FROM gateway_commands WHERE status = 'pending'
            """, logger: logger
        ).decode((Int64, Double).self).all()
        return rows.first ?? (0, 0)
    }
}

