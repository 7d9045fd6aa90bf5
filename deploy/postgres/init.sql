-- One database, one schema and one login role per service; each role owns and sees only its
-- own schema. Used by scripts/dev (local stack) and by compose.yaml (docker-entrypoint-initdb.d).
-- Passwords here are for throwaway local stacks only; production provisions roles elsewhere.
SELECT 'CREATE DATABASE escrowmarket'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'escrowmarket')\gexec

\connect escrowmarket

REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON DATABASE escrowmarket FROM PUBLIC;

DO $$
DECLARE
    svc text;
BEGIN
    FOREACH svc IN ARRAY ARRAY['orders', 'payments', 'escrow', 'notifications'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = svc) THEN
            EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', svc, svc);
        END IF;
        EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE escrowmarket TO %I', svc);
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', svc, svc);
        EXECUTE format('ALTER ROLE %I SET search_path = %I', svc, svc);
    END LOOP;
END
$$;
