-- Buyer wallet top-ups: a PaymentIntent on the platform for store credit. Once it succeeds,
-- wallet.topped_up tells EscrowService to credit the wallet (its ledger).
CREATE TABLE top_ups (
    id             uuid PRIMARY KEY,
    buyer_id       text NOT NULL,
    amount         bigint NOT NULL CHECK (amount > 0),
    currency       text NOT NULL,
    status         text NOT NULL CHECK (status IN ('requires_payment', 'processing', 'failed', 'succeeded')),
    intent_id      text UNIQUE,
    client_secret  text,
    charge_id      text,
    failure_reason text,
    request_key    text NOT NULL UNIQUE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX top_ups_buyer ON top_ups (buyer_id, created_at DESC, id DESC);
