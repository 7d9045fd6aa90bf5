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

CREATE FUNCTION payment_status_counts_add(statuses text[], deltas bigint[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO payment_status_counts (status, slot, count)
    SELECT status, pg_backend_pid(), delta FROM unnest(statuses, deltas) AS d(status, delta) WHERE delta <> 0 ORDER BY status
    ON CONFLICT (status, slot) DO UPDATE SET count = payment_status_counts.count + EXCLUDED.count;
$$;

CREATE FUNCTION payment_status_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM payment_status_counts_add(array_agg(status), array_agg(n)) FROM (SELECT status, count(*) AS n FROM added GROUP BY status) s;
    RETURN NULL;
END
$$;
CREATE FUNCTION payment_status_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM payment_status_counts_add(array_agg(status), array_agg(n)) FROM (
        SELECT status, sum(delta)::bigint AS n FROM (
            SELECT a.status, 1 AS delta FROM added a JOIN removed r USING (id) WHERE a.status <> r.status
            UNION ALL
            SELECT r.status, -1 FROM added a JOIN removed r USING (id) WHERE a.status <> r.status
        ) d GROUP BY status
    ) s;
    RETURN NULL;
END
$$;
CREATE FUNCTION payment_status_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM payment_status_counts_add(array_agg(status), array_agg(-n)) FROM (SELECT status, count(*) AS n FROM removed GROUP BY status) s;
    RETURN NULL;
END
$$;

-- Created before the backfill, in the migration's transaction: their lock on payments keeps any
-- payment from changing between the two.
CREATE TRIGGER payments_status_counts_insert AFTER INSERT ON payments
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION payment_status_counts_inserted();
CREATE TRIGGER payments_status_counts_update AFTER UPDATE ON payments
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION payment_status_counts_updated();
CREATE TRIGGER payments_status_counts_delete AFTER DELETE ON payments
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION payment_status_counts_deleted();

INSERT INTO payment_status_counts (status, slot, count) SELECT status, 0, count(*) FROM payments GROUP BY status;
