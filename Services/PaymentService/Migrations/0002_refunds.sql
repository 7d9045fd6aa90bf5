-- Refunds: requested in a transaction that checks the limits, executed against the gateway
-- afterwards (idempotency key = refund id), settled by its answer or by webhook.
CREATE TABLE refunds (
    id               uuid PRIMARY KEY,
    payment_id       uuid NOT NULL REFERENCES payments (id),
    order_id         uuid NOT NULL,
    amount           bigint NOT NULL CHECK (amount > 0),
    currency         text NOT NULL,
    reason           text NOT NULL,
    status           text NOT NULL CHECK (status IN ('requested', 'succeeded', 'failed')),
    stripe_refund_id text UNIQUE,
    failure_reason   text,
    requested_by     text NOT NULL,
    request_key      text NOT NULL UNIQUE,
    attempts         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_payment ON refunds (payment_id);
CREATE INDEX refunds_pending ON refunds (created_at) WHERE status = 'requested';

-- A card chargeback is open: no refund may be issued on the charge meanwhile.
ALTER TABLE payments ADD COLUMN chargeback_open boolean NOT NULL DEFAULT false;
