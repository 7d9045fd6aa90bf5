-- The Stripe Customer of each buyer, created the first time it is needed by a gateway command
-- whose key is derived from the buyer id, so a race or a retry never makes two. Saved cards are
-- not stored here: Stripe holds them, and brand, last 4 and expiry are read from it.
CREATE TABLE buyer_customers (
    buyer_id    text PRIMARY KEY,
    customer_id text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
