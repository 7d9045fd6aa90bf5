-- Events that arrived before what they depend on (topics are not ordered with each other): the
-- handler parks the event under the name of its prerequisite, and the handler of that
-- prerequisite applies it, in the order it was parked, in its own transaction.
CREATE TABLE deferred_events (
    id          bigserial PRIMARY KEY,
    consumer    text NOT NULL,
    waits_for   text NOT NULL,
    event_id    uuid NOT NULL,
    event_type  text NOT NULL,
    envelope    bytea NOT NULL,
    deferred_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consumer, event_id)
);
CREATE INDEX deferred_events_waiting ON deferred_events (consumer, waits_for, id);
