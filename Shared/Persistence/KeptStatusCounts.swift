import Logging
import PostgresNIO

/// Counts by status that a table keeps of itself, for a gauge that must not count every row
/// ever written at each scrape. The counts table has `(status, slot, count)`; the table's
/// triggers add to rows of the writing session's own (slot: its backend pid), so no writer waits
/// on a shared counter (see the payments' and the payouts' migrations).
public enum KeptStatusCounts {
    /// The counts per status. The rows of sessions that have ended are folded into slot 0 on the
    /// way; the sum is read from the statement's snapshot, before the fold, so each row counts once.
    public static func read(_ countsTable: String, on postgres: PostgresClient, logger: Logger) async throws -> [String: Int64] {
        let rows = try await postgres.query(
            """
            WITH ended AS (
                DELETE FROM \(unescaped: countsTable) WHERE slot <> 0 AND slot NOT IN (SELECT pid FROM pg_stat_activity)
                RETURNING status, count
            ), folded AS (
                INSERT INTO \(unescaped: countsTable) (status, slot, count)
                SELECT status, 0, sum(count) FROM ended GROUP BY status ORDER BY status
                ON CONFLICT (status, slot) DO UPDATE SET count = \(unescaped: countsTable).count + EXCLUDED.count
            )
            SELECT status, sum(count)::int8 FROM \(unescaped: countsTable) GROUP BY status
            """, logger: logger
        ).decode((String, Int64).self).all()
        return Dictionary(rows, uniquingKeysWith: +)
    }
}
