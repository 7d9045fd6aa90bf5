-- The correlation id of what asked for the refund (a request or an event), carried into the
-- refund.succeeded / refund.failed the refund causes later.
ALTER TABLE refunds ADD COLUMN correlation_id text;
