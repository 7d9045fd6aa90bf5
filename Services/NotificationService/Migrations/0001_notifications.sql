-- The projection: what other services' events told us. NotificationService never calls them.

-- Mail addresses by user id, from order snapshots, checkouts, seller and payout events.
CREATE TABLE contacts (
    user_id    text PRIMARY KEY,
    email      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE checkouts (
    id           uuid PRIMARY KEY,
    buyer_id     text NOT NULL,
    currency     text NOT NULL,
    total_amount bigint NOT NULL
);

CREATE TABLE orders (
    id               uuid PRIMARY KEY,
    order_number     text NOT NULL,
    checkout_id      uuid NOT NULL,
    buyer_id         text NOT NULL,
    seller_id        text NOT NULL,
    status           text NOT NULL,
    currency         text NOT NULL,
    subtotal_amount  bigint NOT NULL,
    total_amount     bigint NOT NULL,
    items            jsonb NOT NULL,
    shipping_address jsonb NOT NULL,
    carrier          text,
    tracking_number  text,
    auto_confirm_at  timestamptz,
    -- When the event this row was taken from happened: an older event never overwrites it.
    as_of            timestamptz NOT NULL
);
CREATE INDEX orders_checkout ON orders (checkout_id);

-- The last onboarding state a seller was told about, so repeated account updates mail once.
CREATE TABLE seller_accounts (
    seller_id       text PRIMARY KEY,
    payouts_enabled boolean NOT NULL,
    currently_due   text NOT NULL
);

-- One row per email. `idempotency_key` (event id, template, recipient) is unique, so an event
-- handled twice cannot queue the same email twice; `message_id` is derived from it.
CREATE TABLE notifications (
    id              uuid PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    kind            text NOT NULL,
    audience        text NOT NULL CHECK (audience IN ('buyer', 'seller', 'admin')),
    -- The user it is for (null for the admin address); the address may be learnt later.
    recipient_id    text,
    recipient_email text,
    order_id        uuid,
    subject         text NOT NULL,
    text_body       text NOT NULL,
    html_body       text NOT NULL,
    message_id      text NOT NULL UNIQUE,
    status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sending_since   timestamptz,
    sent_at         timestamptz,
    source_event_id uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (recipient_id IS NOT NULL OR audience = 'admin')
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status IN ('queued', 'failed');
CREATE INDEX notifications_sending ON notifications (sending_since) WHERE status = 'sending';
CREATE INDEX notifications_recipient ON notifications (recipient_id, created_at DESC, id DESC);
CREATE INDEX notifications_created ON notifications (created_at DESC, id DESC);

-- Durable reminders, fired by the delivery loop when due unless cancelled by a later event.
CREATE TABLE reminders (
    id         uuid PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('ship_order', 'confirm_delivery')),
    order_id   uuid NOT NULL,
    due_at     timestamptz NOT NULL,
    status     text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'fired', 'cancelled')),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, order_id)
);
CREATE INDEX reminders_due ON reminders (due_at) WHERE status = 'pending';

-- Receipt numbers are gapless: the one counter row is locked by the transaction that takes a
-- number, so a rolled-back receipt gives its number back.
CREATE TABLE receipt_counter (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    last bigint NOT NULL
);
INSERT INTO receipt_counter (id, last) VALUES (true, 0);

CREATE TABLE receipts (
    id              uuid PRIMARY KEY,
    number          bigint NOT NULL UNIQUE,
    payment_id      uuid NOT NULL UNIQUE,
    checkout_id     uuid NOT NULL,
    buyer_id        text,
    currency        text NOT NULL,
    total_amount    bigint NOT NULL,
    -- The payment.succeeded event: the receipt email's idempotency source.
    source_event_id uuid NOT NULL,
    -- The email waits until every order of the payment is in the projection.
    emailed         boolean NOT NULL DEFAULT false,
    issued_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX receipts_checkout ON receipts (checkout_id) WHERE NOT emailed;

CREATE TABLE receipt_orders (
    receipt_id uuid NOT NULL REFERENCES receipts (id),
    position   integer NOT NULL,
    order_id   uuid NOT NULL,
    seller_id  text NOT NULL,
    amount     bigint NOT NULL,
    PRIMARY KEY (receipt_id, position)
);

-- Refunds by payment, so one that arrives before its receipt is still applied.
CREATE TABLE receipt_refunds (
    refund_id   uuid PRIMARY KEY,
    payment_id  uuid NOT NULL,
    order_id    uuid NOT NULL,
    amount      bigint NOT NULL,
    currency    text NOT NULL,
    refunded_at timestamptz NOT NULL
);
CREATE INDEX receipt_refunds_payment ON receipt_refunds (payment_id);
