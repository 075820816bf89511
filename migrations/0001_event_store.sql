-- The event store: one append-only table for every tenant's events, the
-- stream-version gate, permanent idempotency keys, and the position allocator.
-- Design: docs/adr/0002-gap-safe-global-log.md.

CREATE SEQUENCE event_position_seq AS bigint MINVALUE 1 START 1 NO CYCLE;

CREATE TABLE events (
    position        bigint      PRIMARY KEY,
    event_id        uuid        NOT NULL,
    tenant_id       text        NOT NULL,
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL,
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL DEFAULT 1,
    payload         bytea       NOT NULL,
    causation_id    uuid,
    correlation_id  uuid,
    actor           text,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- the writer's transaction: readers only see rows whose transaction is
    -- older than every transaction still running (gap safety)
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (tenant_id, stream_id, stream_version)
);

-- One row per stream: appends lock it to check and move the version, so
-- writers of different streams never wait for each other.
CREATE TABLE streams (
    tenant_id   text   NOT NULL,
    stream_id   text   NOT NULL,
    version     bigint NOT NULL,
    PRIMARY KEY (tenant_id, stream_id)
);

-- Every append's idempotency key, forever: a replayed command finds its
-- original result here.
CREATE TABLE idempotency_keys (
    tenant_id       text   NOT NULL,
    key             text   NOT NULL,
    stream_id       text   NOT NULL,
    first_position  bigint NOT NULL,
    last_position   bigint NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- Reserve ``n`` consecutive positions and the caller's transaction id in one
-- short critical section. Because the transaction id is assigned inside the
-- same section as the positions, position order equals transaction-id order,
-- which is what lets readers trust "every transaction below the snapshot
-- horizon is finished". The lock is a session advisory lock released before
-- returning: it covers microseconds, never the insert or the commit.
-- Must be the first write of the appending transaction.
CREATE FUNCTION obrador_reserve_positions(n integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    first_position bigint;
BEGIN
    PERFORM pg_advisory_lock(7301746010);
    PERFORM pg_current_xact_id();
    first_position := nextval('event_position_seq');
    IF n > 1 THEN
        PERFORM setval('event_position_seq', first_position + n - 1);
    END IF;
    PERFORM pg_advisory_unlock(7301746010);
    RETURN first_position;
END;
$$;

-- The highest position a reader may safely move to: every transaction below
-- the horizon has finished, so no event at or below it can still appear.
CREATE FUNCTION obrador_visible_horizon() RETURNS xid8
LANGUAGE sql STABLE AS $$
    SELECT pg_snapshot_xmin(pg_current_snapshot());
$$;

CREATE INDEX events_tenant_position_idx ON events (tenant_id, position);
