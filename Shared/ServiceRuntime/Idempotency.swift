import Crypto
import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Persistence
import PostgresNIO

/// `Idempotency-Key` handling for POSTs that create things: a retry with the same key and body
/// gets the first response; the same key with another body is 422. The key is claimed inside
/// the business transaction, so the effect and the record commit (or roll back) together: a
/// retry racing the first request waits for it (then replays its answer), or gets 409 after a
/// few seconds; a crash leaves nothing behind. Keys are kept for at least 24 hours.
public struct IdempotencyStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// How long a retry waits for the first request with its key before answering 409.
    let waitForFirst: Duration

    public init(client: PostgresClient, logger: Logger, waitForFirst: Duration = .seconds(5)) {
        self.client = client
        self.logger = logger
        self.waitForFirst = waitForFirst
    }

    public static func migrations() throws -> [Migration] {
        try Migration.load(source: "runtime", bundle: .module)
    }

    /// The outcome a handler returns: status and JSON body.
    public struct Outcome: Sendable {
        public var status: HTTPResponse.Status
        public var body: Data

        public init(status: HTTPResponse.Status, body: some Encodable) throws {
            self.status = status
            self.body = try EventCoding.encoder.encode(body)
        }
    }

    /// Runs `operation` once per (user, key); `operation` gets the open transaction and must do
    /// all its writes on it.
    public func run(
        request: Request, context: AppRequestContext, body: ByteBuffer,
        _ operation: @Sendable (PostgresConnection) async throws -> Outcome
    ) async throws -> Response {
        let user = try context.requireUser()
        guard let key = request.headers[.idempotencyKey], (1...255).contains(key.count) else {
            throw Problem.badRequest("Send an Idempotency-Key header (1 to 255 characters) with this request.")
        }
        let hash = SHA256.hash(data: Data("\(request.method.rawValue) \(request.uri.path)\n".utf8) + Data(buffer: body)).hexEncoded

        do {
            let outcome = try await client.inTransaction(logger: logger) { connection -> Outcome? in
                guard try await claim(userId: user.id, key: key, hash: hash, on: connection) else { return nil }
                let outcome = try await operation(connection)
                try await record(userId: user.id, key: key, hash: hash, status: outcome.status.code, body: outcome.body, on: connection)
                return outcome
            }
            if let outcome { return Self.response(status: outcome.status.code, body: outcome.body, replayed: false) }
            let replay = try await stored(userId: user.id, key: key, hash: hash)
            return Self.response(status: replay.status, body: replay.body, replayed: true)
        } catch let problem as Problem where (400..<500).contains(problem.status.code) {
            // A refusal is an answer too: the same request gets it again.
            let body = try problem.jsonBody(instance: request.uri.path)
            try await client.inTransaction(logger: logger) { connection in
                try await record(userId: user.id, key: key, hash: hash, status: problem.status.code, body: body, on: connection)
            }
            throw problem
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "55P03" {
            throw Problem.conflict("A request with this Idempotency-Key is still in progress; retry shortly.")
        }
    }

    /// Claims the key in the caller's transaction; false when it is already recorded. A concurrent
    /// request holding it uncommitted is waited for, at most `waitForFirst` (then 55P03). One
    /// statement: the bound is set before the insert can wait, and lifted once the row is ours,
    /// so the operation's own statements wait as long as they need.
    func claim(userId: String, key: String, hash: String, on connection: PostgresConnection) async throws -> Bool {
        let bound = "\(waitForFirst.inMilliseconds)ms"
        return try await !connection.query(prepared:
            """
            WITH bounded AS MATERIALIZED (SELECT set_config('lock_timeout', \(bound), true) AS lock_timeout)
            INSERT INTO idempotency_keys (user_id, key, request_hash, state)
            SELECT \(userId), \(key), \(hash), 'in_progress' FROM bounded
            ON CONFLICT (user_id, key) DO NOTHING
            RETURNING set_config('lock_timeout', '0', true)
            """, logger: logger
        ).collect().isEmpty
    }

    /// The committed answer to a key; 422 when it was used with another request.
    private func stored(userId: String, key: String, hash: String) async throws -> (status: Int, body: Data) {
        let rows = try await client.query(
            "SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE user_id = \(userId) AND key = \(key)",
            logger: logger
        ).decode((String, Int?, Data?).self).all()
        guard let (storedHash, status, body) = rows.first else {
            throw Problem.conflict("A request with this Idempotency-Key is still in progress; retry shortly.")
        }
        guard storedHash == hash else {
            throw Problem.validation("This Idempotency-Key was already used with a different request.")
        }
        guard let status, let body else {
            throw Problem.conflict("A request with this Idempotency-Key is still in progress; retry shortly.")
        }
        return (status, body)
    }

    /// Records the answer: in the business transaction (after the claim), or alone for a
    /// refusal (the business transaction rolled back, claim included).
    private func record(userId: String, key: String, hash: String, status: Int, body: Data, on connection: PostgresConnection) async throws {
        try await connection.query(prepared:
            """
            INSERT INTO idempotency_keys (user_id, key, request_hash, state, response_status, response_body, completed_at)
            VALUES (\(userId), \(key), \(hash), 'completed', \(status), \(body), now())
            ON CONFLICT (user_id, key) DO UPDATE SET state = 'completed', response_status = EXCLUDED.response_status,
                response_body = EXCLUDED.response_body, completed_at = now()
            WHERE idempotency_keys.state = 'in_progress'
            """, logger: logger)
    }

    static func response(status: Int, body: Data, replayed: Bool) -> Response {
        var headers: HTTPFields = [
            .contentType: (200..<300).contains(status) ? "application/json" : Problem.contentType
        ]
        if replayed { headers[.idempotentReplayed] = "true" }
        return Response(
            status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Deletes keys older than the retention (at least 24 h).
    public func prune(olderThan retention: Duration = .seconds(48 * 3600)) async throws {
        try await client.query(
            "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => \(Double(retention.components.seconds)))",
            logger: logger)
    }
}
