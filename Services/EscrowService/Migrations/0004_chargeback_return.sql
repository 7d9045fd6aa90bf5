-- The transfer that paid the seller back what a won chargeback had reversed.
ALTER TABLE escrows ADD COLUMN chargeback_return_transfer_id text UNIQUE;
