import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import PostgresNIO

/// Operator view of stored Stripe events (admin): `GET /api/v1/admin/stripe-events?state=`
/// lists them (failed, waiting, pending or processed; newest first, at most 100),
/// `GET …/{id}` shows one with its payload, and `POST …/{id}/replay` puts a failed event back
/// in line (its failures forgotten) once whatever made it fail is fixed.
struct StripeEventsController: Sendable {
    let postgres: PostgresClient
    let logger: Logger
    let wake: @Sendable () -> Void

    struct Summary: ResponseEncodable {
        var id: String
        var type: String
        var created: Int64
        var receivedAt: Date
        var state: String
        var attempts: Int
        var failures: Int
        var lastError: String?
        var waitingFor: String?
        var nextAttemptAt: Date?
        var failedAt: Date?
        var processedAt: Date?
    }

    struct Detail: ResponseEncodable {
        var event: Summary
        var payload: JSONValue
    }

    struct Listing: ResponseEncodable {
        var items: [Summary]
    }

    static let states = ["failed", "waiting", "pending", "processed"]

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("admin/stripe-events") { request, context in try await list(request, context) }
        group.get("admin/stripe-events/{id}") { _, context in try await show(context) }
        group.post("admin/stripe-events/{id}/replay") { _, context in try await replay(context) }
    }

    private static let columns = """
        id, type, created, received_at, attempts, failures, last_error, waiting_for, next_attempt_at, failed_at, processed_at
        """

    private static func summary(_ row: PostgresRow) throws -> Summary {
        let (id, type, created, receivedAt, attempts, failures, lastError, waitingFor, nextAttemptAt, failedAt, processedAt) =
            try row.decode((String, String, Int64, Date, Int, Int, String?, String?, Date?, Date?, Date?).self)
        let state = processedAt != nil ? "processed" : failedAt != nil ? "failed" : waitingFor != nil ? "waiting" : "pending"
        return Summary(
            id: id, type: type, created: created, receivedAt: receivedAt, state: state, attempts: attempts, failures: failures,
            lastError: lastError, waitingFor: waitingFor, nextAttemptAt: nextAttemptAt, failedAt: failedAt, processedAt: processedAt)
    }

    private func list(_ request: Request, _ context: AppRequestContext) async throws -> Listing {
        _ = try context.requireRole(.admin)
        let state = request.uri.queryParameters.get("state") ?? "failed"
        guard Self.states.contains(state) else {
            throw Problem.badRequest("state must be one of \(Self.states.joined(separator: ", ")).")
        }
        let rows = try await postgres.query(
            """
            SELECT \(unescaped: Self.columns) FROM stripe_events
            WHERE CASE \(state)
                WHEN 'processed' THEN processed_at IS NOT NULL
                WHEN 'failed' THEN processed_at IS NULL AND failed_at IS NOT NULL
                WHEN 'waiting' THEN processed_at IS NULL AND failed_at IS NULL AND waiting_for IS NOT NULL
                ELSE processed_at IS NULL AND failed_at IS NULL AND waiting_for IS NULL END
            ORDER BY received_at DESC, id LIMIT 100
            """, logger: context.logger
        ).collect()
        return Listing(items: try rows.map(Self.summary))
    }

    private func show(_ context: AppRequestContext) async throws -> Detail {
        _ = try context.requireRole(.admin)
        let id = try context.parameters.require("id")
        let rows = try await postgres.query(
            "SELECT \(unescaped: Self.columns), payload FROM stripe_events WHERE id = \(id)", logger: context.logger
        ).collect()
        guard let row = rows.first else { throw Problem.notFound("No Stripe event \(id).") }
        let payload = try row.decode((String, String, Int64, Date, Int, Int, String?, String?, Date?, Date?, Date?, Data).self).11
        // Stored as received; shown as JSON when it is JSON.
        let json = (try? EventCoding.decoder.decode(JSONValue.self, from: payload)) ?? .string(String(decoding: payload, as: UTF8.self))
        return Detail(event: try Self.summary(row), payload: json)
    }

    private func replay(_ context: AppRequestContext) async throws -> Summary {
        let admin = try context.requireRole(.admin)
        let id = try context.parameters.require("id")
        let rows = try await postgres.query(
            """
            UPDATE stripe_events SET failed_at = NULL, failures = 0, next_attempt_at = NULL
            WHERE id = \(id) AND processed_at IS NULL AND failed_at IS NOT NULL
            RETURNING \(unescaped: Self.columns)
            """, logger: context.logger
        ).collect()
        guard let row = rows.first else {
            let exists = try await postgres.query("SELECT 1 FROM stripe_events WHERE id = \(id)", logger: context.logger).collect()
            if exists.isEmpty { throw Problem.notFound("No Stripe event \(id).") }
            throw Problem.conflict("Stripe event \(id) is not failed; only failed events are replayed.")
        }
        logger.notice("stripe event replayed by an operator", metadata: ["stripe_event": "\(id)", "admin": "\(admin.id)"])
        wake()
        return try Self.summary(row)
    }
}
