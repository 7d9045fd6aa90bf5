import Foundation
import Logging
import PostgresNIO

/// Durable reminders: rows with a due time, fired by the delivery loop unless cancelled first.
struct ReminderStore: Sendable {
    enum Kind: String, Sendable {
        /// The seller has not shipped a paid order.
        case shipOrder = "ship_order"
        /// The buyer should confirm delivery before it is confirmed automatically.
        case confirmDelivery = "confirm_delivery"
    }

    struct Due: Sendable {
        var id: UUID
        var kind: Kind
        var orderId: UUID
    }

    let logger: Logger

    /// Schedules one reminder of a kind per order (a second schedule is ignored).
    func schedule(_ kind: Kind, orderId: UUID, at due: Date, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO reminders (id, kind, order_id, due_at) VALUES (\(UUID()), \(kind.rawValue), \(orderId), \(due))
            ON CONFLICT (kind, order_id) DO NOTHING
            """, logger: logger)
    }

    func cancel(_ kinds: [Kind], orderId: UUID, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE reminders SET status = 'cancelled'
            WHERE order_id = \(orderId) AND kind = ANY(\(kinds.map(\.rawValue))) AND status = 'pending'
            """, logger: logger)
    }

    /// Due reminders, locked (others' are skipped) and marked fired in the caller's transaction.
    func takeDue(limit: Int, on connection: PostgresConnection) async throws -> [Due] {
        try await connection.query(
            """
            UPDATE reminders SET status = 'fired'
            WHERE id IN (SELECT id FROM reminders WHERE status = 'pending' AND due_at <= now()
                         ORDER BY due_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING id, kind, order_id
            """, logger: logger
        ).decode((UUID, String, UUID).self).all().compactMap { row in
            Kind(rawValue: row.1).map { Due(id: row.0, kind: $0, orderId: row.2) }
        }
    }
}
