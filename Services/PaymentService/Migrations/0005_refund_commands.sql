-- Refunds are executed as gateway commands (Shared/GatewayCommands). Refunds still waiting for
-- the gateway when this runs get their command now, with the key they always had, so one that
-- the old executor had already sent is found again rather than made twice.
INSERT INTO gateway_commands (id, kind, subject, amount, currency, idempotency_key, parameters, correlation_id)
SELECT gen_random_uuid(), 'refund', r.id::text, r.amount, r.currency, 'refund-' || r.id::text,
    jsonb_build_object('charge', COALESCE(p.charge_id, ''), 'reason', r.reason),
    COALESCE(r.correlation_id, 'refund:' || r.id::text)
FROM refunds r JOIN payments p ON p.id = r.payment_id
WHERE r.status = 'requested'
ON CONFLICT (idempotency_key) DO NOTHING;
