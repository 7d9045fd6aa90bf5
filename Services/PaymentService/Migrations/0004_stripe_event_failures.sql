-- A stored Stripe event that fails is retried with backoff; after a few failures that are not
-- transient it is parked (failed_at) for an operator to inspect and replay, not retried forever.
ALTER TABLE stripe_events
    ADD COLUMN failures        integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN failed_at       timestamptz;
DROP INDEX stripe_events_pending;
CREATE INDEX stripe_events_pending ON stripe_events (created, received_at, id) WHERE processed_at IS NULL AND failed_at IS NULL;
