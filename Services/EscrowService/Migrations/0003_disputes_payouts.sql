-- What freezes an escrow, and what has gone back to the buyer or come back from the seller.
ALTER TABLE escrows ADD COLUMN dispute_id uuid;
ALTER TABLE escrows ADD COLUMN chargeback_id text;
ALTER TABLE escrows ADD COLUMN chargeback_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE escrows ADD COLUMN chargeback_reversed bigint NOT NULL DEFAULT 0;
ALTER TABLE escrows ADD COLUMN refund_requested bigint NOT NULL DEFAULT 0;
ALTER TABLE escrows ADD COLUMN refunded_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE escrows ADD COLUMN released_gross bigint NOT NULL DEFAULT 0;
ALTER TABLE escrows ADD COLUMN released_fee bigint NOT NULL DEFAULT 0;
ALTER TABLE escrows ADD COLUMN released_net bigint NOT NULL DEFAULT 0;
ALTER TABLE escrows ADD COLUMN reversed_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE escrows ADD COLUMN flagged_at timestamptz;
ALTER TABLE escrows ADD COLUMN flag_reason text;
CREATE INDEX escrows_unflagged_held ON escrows (created_at) WHERE flagged_at IS NULL AND status IN ('held', 'parked');

ALTER TABLE seller_accounts ADD COLUMN seller_email text;

-- Buyer disputes: at most one open per order; messages are the evidence.
CREATE TABLE disputes (
    id              uuid PRIMARY KEY,
    escrow_id       uuid NOT NULL REFERENCES escrows (id),
    order_id        uuid NOT NULL,
    buyer_id        text NOT NULL,
    seller_id       text NOT NULL,
    reason          text NOT NULL,
    description     text NOT NULL,
    status          text NOT NULL CHECK (status IN ('open', 'resolved')),
    outcome         text CHECK (outcome IN ('refund', 'release', 'split')),
    refund_amount   bigint,
    release_amount  bigint,
    resolution_note text,
    resolved_by     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz
);
CREATE UNIQUE INDEX disputes_one_open_per_order ON disputes (order_id) WHERE status = 'open';
CREATE INDEX disputes_queue ON disputes (status, created_at);

CREATE TABLE dispute_messages (
    id          bigserial PRIMARY KEY,
    dispute_id  uuid NOT NULL REFERENCES disputes (id),
    author_id   text NOT NULL,
    author_role text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dispute_messages_dispute ON dispute_messages (dispute_id, id);

-- Payouts from a seller's connected account to their bank.
CREATE TABLE payouts (
    id               uuid PRIMARY KEY,
    seller_id        text NOT NULL,
    account_id       text NOT NULL,
    amount           bigint NOT NULL CHECK (amount > 0),
    currency         text NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'in_transit', 'paid', 'failed')),
    stripe_payout_id text UNIQUE,
    failure_reason   text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payouts_seller ON payouts (seller_id, created_at DESC, id DESC);
CREATE INDEX payouts_pending ON payouts (created_at) WHERE status = 'pending';

-- A gateway report for a payout we have not linked yet (the webhook beat the API answer).
CREATE TABLE unmatched_payout_updates (
    stripe_payout_id text PRIMARY KEY,
    status           text NOT NULL,
    failure_code     text,
    received_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE reconciliation_runs (
    id            uuid PRIMARY KEY,
    requested_by  text NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    checked       integer NOT NULL DEFAULT 0,
    discrepancies jsonb NOT NULL DEFAULT '[]'
);

-- The simulated gateway's own records (used only without STRIPE_SECRET_KEY): what Stripe
-- would hold for connected accounts, transfers, reversals and payouts.
CREATE TABLE simulated_accounts (
    id           text PRIMARY KEY,
    seller_id    text NOT NULL UNIQUE,
    email        text,
    onboarded    boolean NOT NULL DEFAULT false,
    payouts_fail boolean NOT NULL DEFAULT false,
    created      bigint NOT NULL
);
CREATE TABLE simulated_transfers (
    id                 text PRIMARY KEY,
    idempotency_key    text NOT NULL UNIQUE,
    amount             bigint NOT NULL,
    amount_reversed    bigint NOT NULL DEFAULT 0,
    currency           text NOT NULL,
    destination        text NOT NULL,
    source_transaction text,
    transfer_group     text
);
CREATE TABLE simulated_reversals (
    id              text PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    transfer_id     text NOT NULL REFERENCES simulated_transfers (id),
    amount          bigint NOT NULL
);
CREATE TABLE simulated_payouts (
    id              text PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    account_id      text NOT NULL,
    amount          bigint NOT NULL,
    currency        text NOT NULL,
    status          text NOT NULL,
    failure_code    text,
    created         bigint NOT NULL
);

-- Order events that arrived before the payment that opens the order's escrow (topics are not
-- ordered with each other); applied right after the escrow opens.
CREATE TABLE deferred_order_events (
    id             bigserial PRIMARY KEY,
    order_id       uuid NOT NULL,
    event_type     text NOT NULL,
    correlation_id text NOT NULL,
    causation_id   text NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deferred_order_events_order ON deferred_order_events (order_id, id);
