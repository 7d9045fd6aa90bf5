import EventContracts
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import ServiceRuntime

/// Periodic work that must survive restarts, driven by rows in Postgres: escrows held longer
/// than the limit (Stripe can hold funds for manual payouts only so long) are flagged for
/// admins. (Payouts whose gateway answer was lost are the command worker's: it retries them with
/// the same idempotency key.)
struct EscrowTimers: Service, CustomStringConvertible {
    let escrows: EscrowStore
    let postgres: PostgresClient
    let holdLimit: Duration
    let interval: Duration
    var logger: Logger { escrows.logger }

    var description: String { "EscrowTimers" }

    func run() async throws {
        try await runPeriodically(every: interval, logger: logger, failure: "escrow timers failed; retrying") {
            try await runDue()
        }
    }

    @discardableResult
    func runDue() async throws -> Int {
        let seconds = holdLimit.components.seconds
        let reason = "held longer than " + (seconds % 86_400 == 0 ? "\(seconds / 86_400) days" : "\(seconds) seconds")
        let flagged = try await postgres.inTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                UPDATE escrows SET flagged_at = now(), updated_at = now(), flag_reason = \(reason)
                WHERE id IN (
                    SELECT id FROM escrows WHERE flagged_at IS NULL AND status IN ('held', 'parked')
                      AND created_at < now() - make_interval(secs => \(Double(holdLimit.components.seconds)))
                    ORDER BY created_at LIMIT 500 FOR UPDATE SKIP LOCKED)
                RETURNING id, order_id, seller_id, created_at, flag_reason
                """, logger: logger
            ).decode((UUID, UUID, String, Date, String).self).all()
            for (id, order, seller, since, reason) in rows {
                try await escrows.publish(
                    EscrowFlagged(escrowId: id, orderId: order, sellerId: seller, heldSince: since, reason: reason),
                    aggregateId: order.uuidString.lowercased(), cause: Cause(correlationId: "timer:escrow-hold-limit", causationId: nil),
                    on: connection)
                logger.warning("escrow held too long", metadata: ["escrow_id": "\(id)", "order_id": "\(order)"])
            }
            return rows.count
        }
        return flagged
    }
}
