import Foundation
import Logging
import PostgresNIO

/// A seller's schedule as stored, with the run it waits for (nil for manual).
struct StoredPayoutSchedule: Sendable, Equatable {
    var sellerId: String
    var schedule: PayoutSchedule
    var nextRunAt: Date?
}

/// Payout schedules and the runs they made, in Postgres. Persists only: what a run pays is the
/// scheduler's decision, and the payouts themselves are `PayoutStore`'s.
struct PayoutScheduleStore: Sendable {
    let logger: Logger

    private static let columns = "seller_id, cadence, weekly_anchor, monthly_anchor::int8, minimum_amount, next_run_at"

    func find(sellerId: String, on connection: PostgresConnection) async throws -> StoredPayoutSchedule? {
        try await decode(
            connection.query("SELECT \(unescaped: Self.columns) FROM payout_schedules WHERE seller_id = \(sellerId)", logger: logger)
        ).first
    }

    func save(_ schedule: PayoutSchedule, sellerId: String, nextRunAt: Date?, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO payout_schedules (seller_id, cadence, weekly_anchor, monthly_anchor, minimum_amount, next_run_at)
            VALUES (\(sellerId), \(schedule.interval.rawValue), \(schedule.weeklyAnchor?.rawValue), \(schedule.monthlyAnchor.map { Int16(clamping: $0) }),
                \(schedule.minimumAmount), \(nextRunAt))
            ON CONFLICT (seller_id) DO UPDATE SET cadence = EXCLUDED.cadence, weekly_anchor = EXCLUDED.weekly_anchor,
                monthly_anchor = EXCLUDED.monthly_anchor, minimum_amount = EXCLUDED.minimum_amount,
                next_run_at = EXCLUDED.next_run_at, updated_at = now()
            """, logger: logger)
    }

    /// Takes the earliest schedule whose run has come, locked for the caller's transaction;
    /// one another instance holds is skipped, as are `excluded` sellers (failed this pass).
    func claimDue(at now: Date, excluding excluded: [String], on connection: PostgresConnection) async throws -> StoredPayoutSchedule? {
        try await decode(
            connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM payout_schedules
                WHERE next_run_at <= \(now) AND seller_id <> ALL(\(excluded))
                ORDER BY next_run_at, seller_id LIMIT 1 FOR UPDATE SKIP LOCKED
                """, logger: logger)
        ).first
    }

    func reschedule(sellerId: String, nextRunAt: Date, on connection: PostgresConnection) async throws {
        try await connection.query(
            "UPDATE payout_schedules SET next_run_at = \(nextRunAt), updated_at = now() WHERE seller_id = \(sellerId)", logger: logger)
    }

    /// Each currency's available balance of the seller that reaches `minimum` (and is positive).
    func availableBalances(sellerId: String, minimum: Int64, on connection: PostgresConnection) async throws -> [(currency: String, amount: Int64)] {
        try await connection.query(
            """
            SELECT currency, (-sum(amount))::int8 FROM journal_entries
            WHERE account = \(LedgerAccount.sellerAvailable(sellerId).description)
            GROUP BY currency HAVING -sum(amount) >= \(max(1, minimum)) ORDER BY currency
            """, logger: logger
        ).decode((String, Int64).self).all().map { (currency: $0.0, amount: $0.1) }
    }

    /// Claims the run's payout of one currency for `payoutId`; false when that run already paid it.
    func claimRun(sellerId: String, currency: String, runAt: Date, payoutId: UUID, on connection: PostgresConnection) async throws -> Bool {
        !(try await connection.query(
            """
            INSERT INTO scheduled_payouts (seller_id, currency, run_at, payout_id) VALUES (\(sellerId), \(currency), \(runAt), \(payoutId))
            ON CONFLICT (seller_id, currency, run_at) DO NOTHING RETURNING 1
            """, logger: logger
        ).collect().isEmpty)
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [StoredPayoutSchedule] {
        try await rows.decode((String, String, String?, Int64?, Int64, Date?).self).all().map { row in
            guard let interval = PayoutSchedule.Interval(rawValue: row.1) else { throw StoredValueError(column: "cadence") }
            let weekday = row.2.flatMap(PayoutSchedule.Weekday.init(rawValue:))
            guard (row.2 == nil) == (weekday == nil) else { throw StoredValueError(column: "weekly_anchor") }
            let schedule = PayoutSchedule(
                interval: interval, weeklyAnchor: weekday, monthlyAnchor: row.3.map { Int($0) }, minimumAmount: row.4)
            return StoredPayoutSchedule(sellerId: row.0, schedule: schedule, nextRunAt: row.5)
        }
    }
}
