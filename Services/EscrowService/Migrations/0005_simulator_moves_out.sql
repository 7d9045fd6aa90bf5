-- The simulated Connect gateway is no longer part of the service: local runs and tests talk to
-- the Stripe simulator (Tools/StripeSimulator) over HTTP, the production code path.
DROP TABLE IF EXISTS simulated_payouts;
DROP TABLE IF EXISTS simulated_reversals;
DROP TABLE IF EXISTS simulated_transfers;
DROP TABLE IF EXISTS simulated_accounts;
