-- Payments per status, kept as payments change, for the `payments` gauge: counting the table at
-- every scrape reads every payment ever made (225 ms after a million checkouts, per instance and
-- scrape, and growing). Each database session adds to rows of its own (slot: its backend pid),
-- so payment transactions never wait on a shared counter; the gauge sums the slots and folds
-- those of sessions that have ended into slot 0.
CREATE TABLE payment_status_counts (
    status text NOT NULL,
    slot   int NOT NULL,
    count  bigint NOT NULL,
    PRIMARY KEY (status, slot)
);

-- Row triggers, and the update one only when the status changes: most updates of a payment
-- leave its status alone, and a payment changes status a few times in its life.
CREATE FUNCTION payment_status_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO payment_status_counts (status, slot, count) VALUES (OLD.status, pg_backend_pid(), -1)
        ON CONFLICT (status, slot) DO UPDATE SET count = payment_status_counts.count - 1;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO payment_status_counts (status, slot, count) VALUES (NEW.status, pg_backend_pid(), 1)
        ON CONFLICT (status, slot) DO UPDATE SET count = payment_status_counts.count + 1;
    END IF;
    RETURN NULL;
END
$$;

-- Created before the backfill, in the migration's transaction: their lock on payments keeps any
-- payment from changing between the two.
CREATE TRIGGER payments_status_counts AFTER INSERT OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION payment_status_counts_add();
CREATE TRIGGER payments_status_counts_moved AFTER UPDATE OF status ON payments
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION payment_status_counts_add();

INSERT INTO payment_status_counts (status, slot, count) SELECT status, 0, count(*) FROM payments GROUP BY status;
