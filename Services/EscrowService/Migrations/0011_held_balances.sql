-- The balance of every escrow_held:<escrow> account, kept by the ledger itself, so that "money
-- held in escrow" (the /metrics gauge) reads the escrows still holding money instead of summing
-- every entry ever posted (seconds per scrape after a million checkouts). One row per escrow:
-- only that escrow's own transactions touch it, so the row adds no contention. Reconciliation
-- compares it with the entries.
CREATE TABLE escrow_held_balances (
    account  text NOT NULL,
    currency text NOT NULL,
    balance  bigint NOT NULL,
    PRIMARY KEY (account, currency)
);
CREATE INDEX escrow_held_balances_open ON escrow_held_balances (currency) WHERE balance <> 0;

CREATE FUNCTION escrow_held_balances_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- One row per account of the statement, taken in one order.
    INSERT INTO escrow_held_balances (account, currency, balance)
    SELECT account, currency, sum(amount) FROM posted WHERE account LIKE 'escrow\_held:%'
    GROUP BY account, currency ORDER BY account, currency
    ON CONFLICT (account, currency) DO UPDATE SET balance = escrow_held_balances.balance + EXCLUDED.balance;
    RETURN NULL;
END
$$;
-- Created before the backfill, in the migration's transaction: its lock on journal_entries keeps
-- any entry from being posted between the two.
CREATE TRIGGER journal_entries_held_balances AFTER INSERT ON journal_entries
    REFERENCING NEW TABLE AS posted FOR EACH STATEMENT EXECUTE FUNCTION escrow_held_balances_add();

INSERT INTO escrow_held_balances (account, currency, balance)
SELECT account, currency, sum(amount) FROM journal_entries WHERE account LIKE 'escrow\_held:%' GROUP BY account, currency;
