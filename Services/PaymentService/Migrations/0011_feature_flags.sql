-- Feature flags an admin turns on and off (a row only once one was set; absent = its default).
CREATE TABLE feature_flags (
    name       text PRIMARY KEY,
    enabled    boolean NOT NULL,
    reason     text NOT NULL,
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
