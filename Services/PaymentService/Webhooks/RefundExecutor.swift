import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle
import ServiceRuntime
import StripeClient

/// Sends requested refunds to the gateway. The idempotency key is the refund's id, so a retry
/// after a crash or a timeout can never refund twice. Declines and invalid requests fail the
/// refund (`refund.failed`); a gateway outage is retried on the next pass.
struct RefundExecutor: Service, CustomStringConvertible {
    let postgres: PostgresClient
    let refunds: RefundStore
    let payments: PaymentStore
    let gateway: any PaymentGateway
    let logger: Logger
    let wakeups: AsyncStream<Void>
    let interval: Duration

    var description: String { "RefundExecutor" }

    func run() async throws {
        try await runPeriodically(every: interval, wakeups: wakeups, logger: logger, failure: "refunds not executed; retrying") {
            try await executePending()
        }
    }

    func executePending() async throws {
        let ids = try await postgres.withConnection { try await refunds.pending(limit: 50, on: $0) }
        for id in ids {
            do {
                try await execute(id)
            } catch {
                if Task.isCancelled { throw CancellationError() }
                logger.warning("refund not executed yet", metadata: ["refund_id": "\(id)", "error": "\(error)"])
            }
        }
    }

    /// The row stays locked while the gateway is asked, so one refund is sent by one worker.
    private func execute(_ id: UUID) async throws {
        try await postgres.inTransaction(logger: logger) { connection in
            guard let refund = try await refunds.lock(id, on: connection), refund.status == "requested" else { return }
            let correlation = try await refunds.correlationId(of: id, on: connection)
            let chargeId = try await connection.query(
                "SELECT charge_id FROM payments WHERE id = \(refund.paymentId)", logger: logger
            ).decode(String?.self).all().first ?? nil
            guard let chargeId else {
                try await refunds.failed(refund, reason: "no charge recorded", correlationId: correlation, on: connection, store: payments)
                return
            }
            do {
                let result = try await gateway.refund(
                    chargeId: chargeId, amount: refund.amount, currency: refund.currency, reason: refund.reason,
                    idempotencyKey: "refund-\(refund.id.uuidString.lowercased())")
                if result.status == "failed" || result.status == "canceled" {
                    try await refunds.failed(refund, reason: "gateway: \(result.status ?? "failed")", correlationId: correlation, on: connection, store: payments)
                } else {
                    try await refunds.succeeded(refund, stripeRefundId: result.id, correlationId: correlation, on: connection, store: payments)
                }
            } catch let error as StripeError where !error.isRetriable {
                try await refunds.failed(refund, reason: error.code ?? error.kind.rawValue, correlationId: correlation, on: connection, store: payments)
            }
        }
    }
}
