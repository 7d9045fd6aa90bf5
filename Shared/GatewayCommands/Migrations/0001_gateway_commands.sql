-- Money movements at the payment gateway, decided in the transaction that changes our state and
-- executed afterwards by the command worker, outside any transaction. A command ends succeeded
-- (the gateway's object id is kept) or refused (the gateway said no: nothing was created); an
-- unknown outcome (timeout, 5xx, unreadable answer) stays pending and is retried with the same
-- idempotency key.
CREATE TABLE gateway_commands (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL,
    -- The record the command acts for (an escrow, a payout, a refund, a payment).
    subject          text NOT NULL,
    amount           bigint NOT NULL CHECK (amount >= 0),
    currency         text NOT NULL,
    idempotency_key  text NOT NULL UNIQUE,
    parameters       jsonb NOT NULL DEFAULT '{}',
    correlation_id   text NOT NULL,
    causation_id     text,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'refused')),
    attempts         integer NOT NULL DEFAULT 0,
    -- Due time; while a worker executes it, the end of its lease.
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    claimed_by       text,
    first_attempt_at timestamptz,
    last_error       text,
    result_id        text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz
);
CREATE INDEX gateway_commands_due ON gateway_commands (next_attempt_at) WHERE status = 'pending';
CREATE INDEX gateway_commands_subject ON gateway_commands (subject, kind);
