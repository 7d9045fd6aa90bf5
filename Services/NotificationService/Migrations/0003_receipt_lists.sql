-- A buyer's receipts, newest (highest number) first. Every receipt, for admins, uses the
-- unique index on number.
CREATE INDEX receipts_buyer_newest ON receipts (buyer_id, number DESC);
