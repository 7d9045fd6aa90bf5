-- Idempotency-Key records: the first response to a (user, key) is replayed to every retry.
CREATE TABLE idempotency_keys (
    user_id         text NOT NULL,
    key             text NOT NULL,
    request_hash    text NOT NULL,
    state           text NOT NULL CHECK (state IN ('in_progress', 'completed')),
    response_status integer,
    response_body   bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
