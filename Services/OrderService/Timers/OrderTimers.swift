import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import ServiceRuntime

/// Durable timers kept in the orders table itself, so they survive restarts: unpaid orders
/// expire (stock released) and shipped orders are confirmed delivered after the inspection
/// window. Several instances can run: due rows are taken with SKIP LOCKED.
struct OrderTimers: Service, CustomStringConvertible {
    let store: OrderStore
    let postgres: PostgresClient
    let interval: Duration
    let logger: Logger

    var description: String { "OrderTimers" }

    func run() async throws {
        try await runPeriodically(every: interval, logger: logger, failure: "order timers failed; retrying") {
            try await runDue()
        }
    }

    /// Handles everything due now; returns how many orders expired and were auto-confirmed.
    @discardableResult
    func runDue(batch: Int = 100) async throws -> (expired: Int, confirmed: Int) {
        let expired = try await drain(
            due: "status = 'pending_payment' AND expires_at <= now() ORDER BY expires_at", batch: batch
        ) { orders, connection in
            try await store.moveStock(.release, of: orders, on: connection)
            for order in orders {
                try await store.transition(order, to: .cancelled, cause: .system("payment window expired"), on: connection)
            }
        }
        let confirmed = try await drain(
            due: "status = 'shipped' AND auto_confirm_at <= now() ORDER BY auto_confirm_at", batch: batch
        ) { orders, connection in
            for order in orders {
                try await store.transition(order, to: .delivered, cause: .system("inspection window ended"), on: connection) {
                    $0.autoConfirmAt = nil
                }
            }
        }
        return (expired, confirmed)
    }

    /// Applies `move` to every due order, a batch of them per transaction; due rows another instance
    /// holds are skipped. `due` is a fixed condition and order, never client input.
    private func drain(
        due condition: String, batch: Int, _ move: ([Order], PostgresConnection) async throws -> Void
    ) async throws -> Int {
        var total = 0
        while true {
            let count = try await postgres.inTransaction(logger: logger) { connection in
                let ids = try await connection.query(
                    "SELECT id FROM orders WHERE \(unescaped: condition) LIMIT \(batch) FOR UPDATE SKIP LOCKED", logger: logger
                ).decode(UUID.self).all()
                var orders: [Order] = []
                for id in ids {
                    if let order = try await store.lock(id, on: connection) { orders.append(order) }
                }
                try await move(orders, connection)
                return ids.count
            }
            total += count
            if count < batch { return total }
        }
    }
}
