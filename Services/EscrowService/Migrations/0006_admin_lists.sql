-- The admin's seller list (newest first) and each party's own disputes.
CREATE INDEX seller_accounts_newest ON seller_accounts (created_at DESC, seller_id DESC);
CREATE INDEX disputes_buyer ON disputes (buyer_id, created_at DESC, id DESC);
CREATE INDEX disputes_seller ON disputes (seller_id, created_at DESC, id DESC);
