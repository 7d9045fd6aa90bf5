import Logging
import Persistence
import PostgresNIO
import ServiceRuntime

extension ServiceDefinition {
    /// Escrows held (or parked) longer than the hold limit, and the age of the oldest still held:
    /// Stripe holds funds for manual payouts only so long.
    static func holdGauges(holdLimit: Duration, postgres: PostgresClient, logger: Logger) async throws -> [GaugeFamily] {
        let limit = Double(holdLimit.components.seconds)
        let (overLimit, oldest) = try await postgres.query(
            """
            SELECT count(*) FILTER (WHERE created_at < now() - make_interval(secs => \(limit)))::int8,
                COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8
            FROM escrows WHERE status IN ('held', 'parked')
            """, logger: logger
        ).decode((Int64, Double).self).all().first ?? (Int64(0), Double(0))
        return [
            GaugeFamily(
                name: "escrow_held_over_limit_escrows", help: "Escrows held or parked longer than ESCROW_HOLD_LIMIT_SECONDS.",
                samples: [.init(value: Double(overLimit))]),
            GaugeFamily(
                name: "escrow_oldest_held_age_seconds", help: "Age of the oldest escrow still held or parked (0 when none).",
                samples: [.init(value: oldest)]),
            GaugeFamily(
                name: "escrow_hold_limit_seconds", help: "ESCROW_HOLD_LIMIT_SECONDS: how long an escrow may be held before it is flagged.",
                samples: [.init(value: limit)]),
        ]
    }

    /// Payouts by status (every status, at zero too; from the counts the payouts table keeps,
    /// `payout_status_counts`) and the age of the oldest pending one: a failed payout only ever
    /// adds to `failed`, so a rise of that gauge is a new failure.
    static func payoutGauges(postgres: PostgresClient, logger: Logger) async throws -> [GaugeFamily] {
        let counts = try await KeptStatusCounts.read("payout_status_counts", on: postgres, logger: logger)
        let oldestPending = try await postgres.query(
            "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 FROM payouts WHERE status = 'pending'",
            logger: logger
        ).decode(Double.self).all().first ?? 0
        return [
            GaugeFamily(
                name: "escrow_payouts", help: "Sellers' payouts by status.",
                samples: ["pending", "in_transit", "paid", "failed"].map { .init(labels: [("status", $0)], value: Double(counts[$0] ?? 0)) }),
            GaugeFamily(
                name: "escrow_oldest_pending_payout_age_seconds", help: "Age of the oldest payout still pending at the gateway (0 when none).",
                samples: [.init(value: oldestPending)]),
        ]
    }

    /// The latest finished reconciliation: how many discrepancies it found and when it finished
    /// (both 0 before the first run).
    static func reconciliationGauges(postgres: PostgresClient, logger: Logger) async throws -> [GaugeFamily] {
        let (discrepancies, finishedAt) = try await postgres.query(
            """
            SELECT jsonb_array_length(discrepancies)::int8, EXTRACT(EPOCH FROM finished_at)::float8 FROM reconciliation_runs
            WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1
            """, logger: logger
        ).decode((Int64, Double).self).all().first ?? (Int64(0), Double(0))
        return [
            GaugeFamily(
                name: "escrow_reconciliation_discrepancies", help: "Discrepancies the latest finished reconciliation found.",
                samples: [.init(value: Double(discrepancies))]),
            GaugeFamily(
                name: "escrow_reconciliation_last_run_timestamp_seconds", help: "When the latest reconciliation finished (Unix time; 0: never).",
                samples: [.init(value: finishedAt)]),
        ]
    }
}
