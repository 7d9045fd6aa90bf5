-- Sellers' connected accounts, as the gateway last reported them (newest Stripe event wins).
CREATE TABLE seller_accounts (
    seller_id         text PRIMARY KEY,
    account_id        text NOT NULL UNIQUE,
    charges_enabled   boolean NOT NULL DEFAULT false,
    payouts_enabled   boolean NOT NULL DEFAULT false,
    details_submitted boolean NOT NULL DEFAULT false,
    currently_due     text[] NOT NULL DEFAULT '{}',
    stripe_created    bigint NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Release bookkeeping on the escrow itself.
ALTER TABLE escrows ADD COLUMN delivered_at timestamptz;
ALTER TABLE escrows ADD COLUMN parked_reason text;
ALTER TABLE escrows ADD COLUMN transfer_id text UNIQUE;
ALTER TABLE escrows ADD COLUMN released_at timestamptz;
CREATE INDEX escrows_parked ON escrows (seller_id) WHERE status = 'parked';
