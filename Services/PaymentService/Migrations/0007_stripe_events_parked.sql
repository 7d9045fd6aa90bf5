-- /metrics counts the parked Stripe events every few seconds: a partial index keeps that cheap
-- however many processed events the table holds.
CREATE INDEX stripe_events_parked ON stripe_events (failed_at) WHERE processed_at IS NULL AND failed_at IS NOT NULL;
