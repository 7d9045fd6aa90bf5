-- A payment paid through Stripe Checkout: its current session (one at a time; a new one only
-- after the last expired). The session's PaymentIntent becomes the payment's intent_id.
ALTER TABLE payments ADD COLUMN checkout_session_id text UNIQUE;
ALTER TABLE payments ADD COLUMN checkout_session_url text;
ALTER TABLE payments ADD COLUMN checkout_session_expires_at timestamptz;
