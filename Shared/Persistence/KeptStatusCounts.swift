import Logging
import PostgresNIO

/// Counts by status that a table keeps of itself, for a gauge that must not count every row
/// ever written at each scrape (a count of the payments table took 225 ms per scrape and
/// instance after a million checkouts). The counts table has `(status, slot, count)`: the
/// table's row triggers add to rows of the writing database session's own (slot: its backend
/// pid), so no writer waits on a shared counter, and a read folds the rows of sessions that have
/// ended into slot 0. `migration` creates both sides; `read` is the gauge's.
public enum KeptStatusCounts {
    /// The migration that makes `table` (with a `status` column) keep its counts in `countsTable`:
    /// the counts table, the triggers (the update one only when the status changes: most updates
    /// leave it alone) and the backfill. The triggers are created before the backfill, in the
    /// migration's transaction, whose lock on `table` keeps any row from changing between the two.
    /// List it after the service's own migrations (`table` must exist); like any migration, its
    /// text must not change once applied (the migrator refuses a changed checksum).
    public static func migration(source: String, table: String, countsTable: String) -> Migration {
        Migration(
            id: "\(source)/kept_\(countsTable)",
            sql: """
                CREATE TABLE \(countsTable) (
                    status text NOT NULL,
                    slot   int NOT NULL,
                    count  bigint NOT NULL,
                    PRIMARY KEY (status, slot)
                );

                CREATE FUNCTION \(countsTable)_add() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP <> 'INSERT' THEN
                        INSERT INTO \(countsTable) (status, slot, count) VALUES (OLD.status, pg_backend_pid(), -1)
                        ON CONFLICT (status, slot) DO UPDATE SET count = \(countsTable).count - 1;
                    END IF;
                    IF TG_OP <> 'DELETE' THEN
                        INSERT INTO \(countsTable) (status, slot, count) VALUES (NEW.status, pg_backend_pid(), 1)
                        ON CONFLICT (status, slot) DO UPDATE SET count = \(countsTable).count + 1;
                    END IF;
                    RETURN NULL;
                END
                $$;

                CREATE TRIGGER \(table)_status_counts AFTER INSERT OR DELETE ON \(table)
                    FOR EACH ROW EXECUTE FUNCTION \(countsTable)_add();
                CREATE TRIGGER \(table)_status_counts_moved AFTER UPDATE OF status ON \(table)
                    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION \(countsTable)_add();

                INSERT INTO \(countsTable) (status, slot, count) SELECT status, 0, count(*) FROM \(table) GROUP BY status;
                """)
    }

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
