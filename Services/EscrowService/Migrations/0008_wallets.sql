-- Buyer wallets are ledger accounts (buyer_wallet:<buyer>); these tables record where their money
-- came from: balance imports from another marketplace (idempotent per import and per row, and
-- reversible while unspent) and credit granted by admins.
CREATE TABLE wallet_imports (
    id              uuid PRIMARY KEY,
    -- The client's name for the import: the same reference with the same rows is a replay,
    -- with other rows a conflict.
    reference       text NOT NULL UNIQUE,
    status          text NOT NULL CHECK (status IN ('applied', 'rolled_back')),
    row_count       integer NOT NULL,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    rolled_back_by  text,
    rollback_reason text,
    rolled_back_at  timestamptz
);

CREATE TABLE wallet_import_rows (
    import_id   uuid NOT NULL REFERENCES wallet_imports (id),
    line        integer NOT NULL,
    external_id text NOT NULL UNIQUE,
    buyer_id    text NOT NULL,
    currency    text NOT NULL,
    amount      bigint NOT NULL CHECK (amount > 0),
    PRIMARY KEY (import_id, line)
);
CREATE INDEX wallet_import_rows_buyer ON wallet_import_rows (buyer_id);

CREATE TABLE wallet_credit_grants (
    id         uuid PRIMARY KEY,
    buyer_id   text NOT NULL,
    currency   text NOT NULL,
    amount     bigint NOT NULL CHECK (amount > 0),
    reason     text NOT NULL,
    granted_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wallet_credit_grants_buyer ON wallet_credit_grants (buyer_id, created_at DESC);

-- A wallet's history is its account's entries, newest first.
CREATE INDEX journal_entries_account_newest ON journal_entries (account, id DESC);
