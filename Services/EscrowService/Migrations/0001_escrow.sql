-- Double-entry ledger: immutable entries grouped in transactions that balance to zero per
-- currency (checked by the code before posting and by the deferred trigger below at commit).
CREATE TABLE journal_transactions (
    id         uuid PRIMARY KEY,
    memo       text NOT NULL,
    source     text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE journal_entries (
    id             bigserial PRIMARY KEY,
    transaction_id uuid NOT NULL REFERENCES journal_transactions (id),
    account        text NOT NULL,
    amount         bigint NOT NULL CHECK (amount <> 0),
    currency       text NOT NULL
);
CREATE INDEX journal_entries_account ON journal_entries (account, currency);
CREATE INDEX journal_entries_transaction ON journal_entries (transaction_id);

CREATE FUNCTION journal_entries_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'journal entries are immutable';
END
$$;
CREATE TRIGGER journal_entries_no_update BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION journal_entries_immutable();

CREATE FUNCTION journal_transaction_balances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM journal_entries WHERE transaction_id = NEW.transaction_id
        GROUP BY currency HAVING sum(amount) <> 0
    ) THEN
        RAISE EXCEPTION 'journal transaction % does not balance', NEW.transaction_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER journal_entries_balance AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_transaction_balances();

-- One escrow per paid order.
CREATE TABLE escrows (
    id           uuid PRIMARY KEY,
    order_id     uuid NOT NULL UNIQUE,
    payment_id   uuid NOT NULL,
    checkout_id  uuid NOT NULL,
    charge_id    text,
    buyer_id     text,
    seller_id    text NOT NULL,
    currency     text NOT NULL,
    gross_amount bigint NOT NULL CHECK (gross_amount > 0),
    fee_amount   bigint NOT NULL CHECK (fee_amount >= 0),
    net_amount   bigint NOT NULL CHECK (net_amount >= 0),
    status       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (fee_amount + net_amount = gross_amount)
);
CREATE INDEX escrows_seller ON escrows (seller_id, status);
CREATE INDEX escrows_held_since ON escrows (created_at) WHERE status = 'held';
