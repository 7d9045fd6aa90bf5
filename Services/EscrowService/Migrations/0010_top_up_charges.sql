-- The card charge behind each top-up, so reconciliation can hold the wallet's money against the
-- gateway (the journal keeps the amount; this keeps the charge it came from).
CREATE TABLE wallet_top_ups (
    top_up_id  uuid PRIMARY KEY,
    buyer_id   text NOT NULL,
    currency   text NOT NULL,
    amount     bigint NOT NULL CHECK (amount > 0),
    charge_id  text,
    created_at timestamptz NOT NULL DEFAULT now()
);
