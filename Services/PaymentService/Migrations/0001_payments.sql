-- One payment per checkout (it may cover several sellers' orders), charged on the platform.
CREATE TABLE payments (
    id              uuid PRIMARY KEY,
    checkout_id     uuid NOT NULL UNIQUE,
    buyer_id        text NOT NULL,
    buyer_email     text,
    currency        text NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    status          text NOT NULL,
    intent_id       text UNIQUE,
    client_secret   text,
    charge_id       text,
    failure_reason  text,
    amount_refunded bigint NOT NULL DEFAULT 0,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_buyer ON payments (buyer_id, created_at DESC, id DESC);
CREATE INDEX payments_created ON payments (created_at DESC, id DESC);

-- The orders (and sellers) a payment pays for, with each one's share.
CREATE TABLE payment_orders (
    order_id     uuid PRIMARY KEY,
    payment_id   uuid NOT NULL REFERENCES payments (id),
    order_number text NOT NULL,
    seller_id    text NOT NULL,
    amount       bigint NOT NULL CHECK (amount > 0)
);
CREATE INDEX payment_orders_payment ON payment_orders (payment_id);

-- What happened to a payment, for the history view.
CREATE TABLE payment_trail (
    id         bigserial PRIMARY KEY,
    payment_id uuid NOT NULL REFERENCES payments (id),
    kind       text NOT NULL,
    detail     text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_trail_payment ON payment_trail (payment_id, id);

-- Every Stripe webhook event, stored once by id before it is acknowledged, processed later.
CREATE TABLE stripe_events (
    id            text PRIMARY KEY,
    type          text NOT NULL,
    created       bigint NOT NULL,
    payload       bytea NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz,
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text,
    -- Set while the event waits for a payment we do not know yet.
    waiting_for   text
);
CREATE INDEX stripe_events_pending ON stripe_events (created, id) WHERE processed_at IS NULL;

-- The simulated gateway's own intents (local mode only; Stripe keeps these in stripe mode).
CREATE TABLE simulated_intents (
    id             text PRIMARY KEY,
    amount         bigint NOT NULL,
    currency       text NOT NULL,
    status         text NOT NULL,
    client_secret  text NOT NULL,
    metadata       jsonb NOT NULL,
    charge_id      text,
    idempotency_key text UNIQUE,
    created        bigint NOT NULL
);
