-- Events a projection could not apply, parked so the partition goes on for
-- everyone else (docs/adr/0006-park-and-continue.md). A row is written in the
-- same transaction that moves the projection's checkpoint past the event, so
-- parking is exactly-once like every other effect. A rebuild parks into a
-- copy of this table and swaps its rows in with the model's tables.
CREATE TABLE parked_events (
    projection   text        NOT NULL,
    position     bigint      NOT NULL,  -- global position of the event in the store
    partition    integer     NOT NULL,
    tenant_id    text        NOT NULL,
    stream_id    text        NOT NULL,
    event_type   text        NOT NULL,
    error_class  text        NOT NULL,  -- e.g. UnappliableEvent, DataError
    error        text        NOT NULL,  -- the message, at most 2,000 characters
    parked_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, position)
);
CREATE INDEX parked_events_tenant ON parked_events (tenant_id, projection, position);
CREATE INDEX parked_events_partition ON parked_events (projection, partition, position);
