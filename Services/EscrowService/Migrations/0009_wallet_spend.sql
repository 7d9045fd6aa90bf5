-- Store credit spent at checkout. A payment that asks for it holds part of its buyer's wallet
-- (ledger account wallet_held:<payment>) until it succeeds, when the hold funds its escrows, or
-- fails or is cancelled, when it goes back to the wallet. One hold per payment.
CREATE TABLE wallet_holds (
    payment_id  uuid PRIMARY KEY,
    checkout_id uuid NOT NULL,
    buyer_id    text NOT NULL,
    currency    text NOT NULL,
    amount      bigint NOT NULL CHECK (amount >= 0),
    status      text NOT NULL CHECK (status IN ('held', 'spent', 'returned')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wallet_holds_checkout ON wallet_holds (checkout_id);

-- Checkouts whose orders were cancelled unpaid (expired): their payment's hold goes back, and
-- a hold asked for after that (the events travel on different topics) takes nothing.
CREATE TABLE unpaid_cancelled_checkouts (
    checkout_id  uuid PRIMARY KEY,
    cancelled_at timestamptz NOT NULL DEFAULT now()
);

-- The part of an escrow's gross paid with store credit (its release transfer then comes from the
-- platform's balance, with no source charge), and how much of its refunds went back to the
-- wallet rather than to the card (reconciliation compares the rest with the charge).
ALTER TABLE escrows ADD COLUMN wallet_amount bigint NOT NULL DEFAULT 0 CHECK (wallet_amount >= 0 AND wallet_amount <= gross_amount),
    ADD COLUMN wallet_refunded bigint NOT NULL DEFAULT 0 CHECK (wallet_refunded >= 0);
