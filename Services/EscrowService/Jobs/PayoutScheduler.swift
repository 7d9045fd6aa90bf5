import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle
import ServiceRuntime

/// The durable timer of payout schedules: each pass takes the schedules whose run has come, one
/// seller a transaction (`FOR UPDATE SKIP LOCKED`, so instances share the work), and pays each
/// currency's available balance that reaches the minimum exactly as `POST /api/v1/payouts`
/// does (payout, ledger and gateway command in that transaction; the command worker calls the
/// gateway afterwards). A `scheduled_payouts` row per seller, currency and run makes a second
/// payout of one run impossible, whatever instance or rerun tries.
struct PayoutScheduler: Service, CustomStringConvertible {
    /// What one seller's run came to.
    enum Outcome: String, Sendable, CaseIterable {
        /// At least one currency was paid.
        case paid
        /// No currency's available balance reached the minimum.
        case belowMinimum = "below_minimum"
        /// Every currency that qualified was already paid for this run (a rerun).
        case alreadyPaid = "already_paid"
        /// The seller has no connected account, or its payouts are not enabled: the run is skipped.
        case noAccount = "no_account"
        case payoutsDisabled = "payouts_disabled"
    }

    let payouts: PayoutStore
    let schedules: PayoutScheduleStore
    let postgres: PostgresClient
    let interval: Duration
    let metrics: any MetricsFactory
    /// The time a pass runs at (injectable, so tests need not wait for days).
    var clock: @Sendable () -> Date = { Date() }
    /// Called after a pass recorded payouts, to send them now instead of at the worker's next tick.
    var paid: @Sendable () -> Void = {}
    var logger: Logger { payouts.logger }

    /// At most this many sellers a pass; the rest are due at the next pass.
    static let sellersPerPass = 200

    var description: String { "PayoutScheduler" }

    func run() async throws {
        for outcome in Outcome.allCases { _ = counter(outcome) }
        try await runPeriodically(every: interval, logger: logger, failure: "scheduled payouts failed; retrying") {
            try await runDue(at: clock())
        }
    }

    /// Runs every schedule due at `now` (up to `sellersPerPass`); returns each seller's outcome.
    @discardableResult
    func runDue(at now: Date) async throws -> [String: Outcome] {
        var outcomes: [String: Outcome] = [:]
        var failed: [String] = []
        while outcomes.count + failed.count < Self.sellersPerPass {
            var claimed: String?
            do {
                let result = try await postgres.inTransaction(logger: logger) { connection -> (String, Outcome)? in
                    claimed = nil
                    guard let due = try await schedules.claimDue(at: now, excluding: failed, on: connection) else { return nil }
                    claimed = due.sellerId
                    return (due.sellerId, try await runSchedule(due, at: now, on: connection))
                }
                guard let (seller, outcome) = result else { break }
                outcomes[seller] = outcome
                counter(outcome).increment()
            } catch {
                // One seller's failure must not hold up the others: it is due again next pass.
                guard let claimed else { throw error }
                failed.append(claimed)
                logger.error("scheduled payout failed; retried at the next pass", metadata: ["seller_id": "\(claimed)", "error": "\(error)"])
            }
        }
        if outcomes.values.contains(.paid) { paid() }
        return outcomes
    }

    /// One seller's run, in the transaction holding their schedule: the next run is set whatever
    /// this one pays, so a skipped or short run waits for the next period.
    private func runSchedule(_ due: StoredPayoutSchedule, at now: Date, on connection: PostgresConnection) async throws -> Outcome {
        guard let runAt = due.nextRunAt, let next = due.schedule.nextRun(after: now) else {
            throw StoredValueError(column: "next_run_at")
        }
        try await schedules.reschedule(sellerId: due.sellerId, nextRunAt: next, on: connection)
        var metadata: Logger.Metadata = ["seller_id": "\(due.sellerId)", "run_at": "\(runAt)"]
        guard let account = try await payouts.escrows.sellerAccount(sellerId: due.sellerId, lock: true, on: connection) else {
            logger.info("scheduled payout skipped: the seller has no payout account", metadata: metadata)
            return .noAccount
        }
        guard account.payoutsEnabled else {
            logger.warning("scheduled payout skipped: payouts are not enabled on the seller's account", metadata: metadata)
            return .payoutsDisabled
        }
        let balances = try await schedules.availableBalances(sellerId: due.sellerId, minimum: due.schedule.minimumAmount, on: connection)
        var paid = 0
        for (currency, amount) in balances {
            let id = UUID()
            guard try await schedules.claimRun(sellerId: due.sellerId, currency: currency, runAt: runAt, payoutId: id, on: connection) else {
                continue
            }
            try await payouts.request(
                id: id, sellerId: due.sellerId, email: account.email, amount: amount, currency: currency,
                cause: Cause(correlationId: "timer:payout-schedule", causationId: nil), on: connection)
            metadata["payout_id"] = "\(id)"
            logger.info("scheduled payout recorded", metadata: metadata)
            paid += 1
        }
        return paid > 0 ? .paid : balances.isEmpty ? .belowMinimum : .alreadyPaid
    }

    private func counter(_ outcome: Outcome) -> Counter {
        Counter(label: "escrow_scheduled_payout_runs_total", dimensions: [("outcome", outcome.rawValue)], factory: metrics)
    }
}
