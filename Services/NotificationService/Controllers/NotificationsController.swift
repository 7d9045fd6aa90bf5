import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO

/// `GET /api/v1/notifications[?as=admin&status=&limit=&cursor=]`: the caller's notifications,
/// newest first; an admin with `as=admin` sees every one, including those to the admin address.
struct NotificationsController: Sendable {
    let postgres: PostgresClient

    struct Item: Encodable, Sendable {
        var id: UUID
        var kind: String
        var audience: String
        var recipientId: String?
        var recipientEmail: String?
        var orderId: UUID?
        var subject: String
        var status: String
        var attempts: Int
        var lastError: String?
        var createdAt: Date
        var sentAt: Date?
    }

    static let statuses: Set<String> = ["queued", "sending", "sent", "failed", "dead"]

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("notifications") { request, context in try await list(request, context) }
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Page<Item> {
        let user = try context.requireUser()
        let query = request.uri.queryParameters
        let everyone: Bool
        switch query.get("as") {
        case nil: everyone = false
        case "admin":
            guard user.isAdmin else { throw Problem.forbidden("as=admin needs the admin role.") }
            everyone = true
        default: throw Problem.badRequest("as must be admin or left out.")
        }
        let status = query.get("status")
        if let status, !Self.statuses.contains(status) { throw Problem.badRequest("Unknown status \(status).") }
        let page = try PageRequest(limit: query.get("limit"), cursor: query.get("cursor"))
        let recipient: String? = everyone ? nil : user.id
        let rows = try await postgres.query(
            """
            SELECT id, kind, audience, recipient_id, recipient_email, order_id, subject, status, attempts, last_error,
                   created_at, sent_at
            FROM notifications
            WHERE (\(recipient)::text IS NULL OR recipient_id = \(recipient))
              AND (\(status)::text IS NULL OR status = \(status))
              AND (\(page.cursor?.createdAt)::timestamptz IS NULL
                   OR (created_at, id) < (\(page.cursor?.createdAt), \(page.cursor?.id)))
            ORDER BY created_at DESC, id DESC LIMIT \(page.limit + 1)
            """, logger: context.logger
        ).decode((UUID, String, String, String?, String?, UUID?, String, String, Int, String?, Date, Date?).self).all()
        return Page(rows: rows, limit: page.limit, cursor: { PageCursor(createdAt: $0.10, id: $0.0) }) { row in
            Item(
                id: row.0, kind: row.1, audience: row.2, recipientId: row.3, recipientEmail: row.4, orderId: row.5,
                subject: row.6, status: row.7, attempts: row.8, lastError: row.9, createdAt: row.10, sentAt: row.11)
        }
    }
}
