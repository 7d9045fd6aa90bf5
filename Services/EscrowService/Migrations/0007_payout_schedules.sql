-- Sellers' payout schedules (after Stripe's settings.payouts.schedule; cadence is its interval);
-- runs are at 00:00 UTC.
-- next_run_at is NULL for manual: the timer claims rows whose run has come (FOR UPDATE SKIP
-- LOCKED) and moves next_run_at on in the transaction that records the run's payouts.
CREATE TABLE payout_schedules (
    seller_id      text PRIMARY KEY,
    cadence        text NOT NULL CHECK (cadence IN ('manual', 'daily', 'weekly', 'monthly')),
    weekly_anchor  text CHECK (weekly_anchor IN ('monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday')),
    monthly_anchor smallint CHECK (monthly_anchor BETWEEN 1 AND 31),
    minimum_amount bigint NOT NULL DEFAULT 0 CHECK (minimum_amount >= 0),
    next_run_at    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((cadence = 'weekly') = (weekly_anchor IS NOT NULL)),
    CHECK ((cadence = 'monthly') = (monthly_anchor IS NOT NULL)),
    CHECK ((cadence = 'manual') = (next_run_at IS NULL))
);
CREATE INDEX payout_schedules_due ON payout_schedules (next_run_at) WHERE next_run_at IS NOT NULL;

-- One scheduled payout per seller, currency and run: a second instance, or a rerun after a
-- crash, cannot pay the same period twice. The row is written just before its payout, in the
-- same transaction (hence the deferred reference).
CREATE TABLE scheduled_payouts (
    seller_id  text NOT NULL,
    currency   text NOT NULL,
    run_at     timestamptz NOT NULL,
    payout_id  uuid NOT NULL UNIQUE REFERENCES payouts (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, currency, run_at)
);
