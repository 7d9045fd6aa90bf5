-- Payouts per status, kept as payouts change, for the `escrow_payouts` gauge, as PaymentService
-- keeps its payments' (see its 0013): counting the table at every scrape reads every payout ever
-- made, one per seller and schedule run. Each database session adds to rows of its own (slot:
-- its backend pid); the gauge sums the slots and folds those of ended sessions into slot 0
-- (KeptStatusCounts).
CREATE TABLE payout_status_counts (
    status text NOT NULL,
    slot   int NOT NULL,
    count  bigint NOT NULL,
    PRIMARY KEY (status, slot)
);

-- Row triggers, the update one only when the status changes.
CREATE FUNCTION payout_status_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO payout_status_counts (status, slot, count) VALUES (OLD.status, pg_backend_pid(), -1)
        ON CONFLICT (status, slot) DO UPDATE SET count = payout_status_counts.count - 1;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO payout_status_counts (status, slot, count) VALUES (NEW.status, pg_backend_pid(), 1)
        ON CONFLICT (status, slot) DO UPDATE SET count = payout_status_counts.count + 1;
    END IF;
    RETURN NULL;
END
$$;

-- Created before the backfill, in the migration's transaction: their lock on payouts keeps any
-- payout from changing between the two.
CREATE TRIGGER payouts_status_counts AFTER INSERT OR DELETE ON payouts
    FOR EACH ROW EXECUTE FUNCTION payout_status_counts_add();
CREATE TRIGGER payouts_status_counts_moved AFTER UPDATE OF status ON payouts
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION payout_status_counts_add();

INSERT INTO payout_status_counts (status, slot, count) SELECT status, 0, count(*) FROM payouts GROUP BY status;
