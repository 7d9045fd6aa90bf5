import Crypto
import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Persistence
import PostgresNIO

/// `Idempotency-Key` handling for POSTs that create things: a retry with the same key and body
/// gets the first response; the same key with another body is 422; a retry racing the first
/// request is 409. The business transaction records the response, so the effect and the
/// record commit together. Keys are kept for at least 24 hours.
public struct IdempotencyStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// A claim older than this whose request never finished (a crash) may be taken over.
    let staleAfter: Duration

    public init(client: PostgresClient, logger: Logger, staleAfter: Duration = .seconds(60)) {
        self.client = client
        self.logger = logger
        self.staleAfter = staleAfter
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
        let hash = SHA256.hash(data: Data("\(request.method.rawValue) \(request.uri.path)\n".utf8) + Data(buffer: body))
            .map { String(format: "%02x", $0) }.joined()

        if let replay = try await claim(userId: user.id, key: key, hash: hash) {
            return Self.response(status: replay.status, body: replay.body, replayed: true)
        }
        do {
            let outcome = try await client.inTransaction(logger: logger) { connection in
                let outcome = try await operation(connection)
                try await record(userId: user.id, key: key, status: outcome.status.code, body: outcome.body, on: connection)
                return outcome
            }
            return Self.response(status: outcome.status.code, body: outcome.body, replayed: false)
        } catch let problem as Problem where (400..<500).contains(problem.status.code) {
            // A refusal is an answer too: the same request gets it again.
            let body = try problem.jsonBody(instance: request.uri.path)
            try await client.inTransaction(logger: logger) { connection in
                try await record(userId: user.id, key: key, status: problem.status.code, body: body, on: connection)
            }
            throw problem
        } catch {
            // Nothing committed: free the key so a retry can run the request again.
            _ = try? await client.query(
                "DELETE FROM idempotency_keys WHERE user_id = \(user.id) AND key = \(key) AND state = 'in_progress'",
                logger: logger)
            throw error
        }
    }

    /// Claims the key, or returns the stored response to replay; throws 409/422 problems.
    private func claim(userId: String, key: String, hash: String) async throws -> (status: Int, body: Data)? {
        let staleSeconds = Double(staleAfter.components.seconds)
        let claimed = try await client.query(
            """
            INSERT INTO idempotency_keys (user_id, key, request_hash, state) VALUES (\(userId), \(key), \(hash), 'in_progress')
            ON CONFLICT (user_id, key) DO UPDATE SET created_at = now()
            WHERE idempotency_keys.state = 'in_progress' AND idempotency_keys.request_hash = \(hash)
              AND idempotency_keys.created_at < now() - make_interval(secs => \(staleSeconds))
            RETURNING 1
            """, logger: logger
        ).collect()
        if !claimed.isEmpty { return nil }
        let rows = try await client.query(
            "SELECT request_hash, state, response_status, response_body FROM idempotency_keys WHERE user_id = \(userId) AND key = \(key)",
            logger: logger
        ).decode((String, String, Int?, Data?).self).all()
        guard let (storedHash, state, status, body) = rows.first else {
            throw Problem.conflict("This Idempotency-Key is being used by another request; retry shortly.")
        }
        guard storedHash == hash else {
            throw Problem.validation("This Idempotency-Key was already used with a different request.")
        }
        guard state == "completed", let status, let body else {
            throw Problem.conflict("A request with this Idempotency-Key is still in progress; retry shortly.")
        }
        return (status, body)
    }

    private func record(userId: String, key: String, status: Int, body: Data, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE idempotency_keys SET state = 'completed', response_status = \(status), response_body = \(body),
                completed_at = now()
            WHERE user_id = \(userId) AND key = \(key)
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
