-- Store credit spent at checkout. A payment whose buyer asks to spend it (`useWallet`, or the
-- wallet.spendFirst flag) asks EscrowService to hold it (wallet.hold_requested) and learns how
-- much was held (wallet.held): the card is charged the rest, or nothing when the wallet covers all.
ALTER TABLE payments ADD COLUMN wallet_requested boolean NOT NULL DEFAULT false,
    -- NULL until wallet.held arrives (or when the wallet was not asked for).
    ADD COLUMN wallet_amount bigint CHECK (wallet_amount >= 0 AND wallet_amount <= amount);

-- A refund of what store credit paid goes back to the wallet, with no gateway call: wallet_amount
-- is then its whole amount (a card's refund has 0). A refund owed to both is two rows.
ALTER TABLE refunds ADD COLUMN wallet_amount bigint NOT NULL DEFAULT 0 CHECK (wallet_amount = 0 OR wallet_amount = amount);
