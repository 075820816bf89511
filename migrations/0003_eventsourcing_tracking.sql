-- Tables the eventsourcing library's recorders need besides the event store
-- itself (streams/es_persistence.py, docs/eventsourcing.md). Events of an
-- eventsourcing application go into ``events``/``streams`` like any other.

-- How far each application (tenant) has processed each upstream application's
-- notification log. One row per (tenant, upstream): written in the same
-- transaction as the events it caused, and only ever moved forwards.
CREATE TABLE eventsourcing_tracking (
    tenant_id         text   NOT NULL,
    application_name  text   NOT NULL,
    notification_id   bigint NOT NULL,
    PRIMARY KEY (tenant_id, application_name)
);

-- Aggregate snapshots (and any other non-"events" aggregate recorder purpose).
-- Kept out of ``events`` on purpose: a snapshot shares its aggregate's id and
-- version, is not a domain event, and must not reach the global log or the relay.
CREATE TABLE eventsourcing_snapshots (
    tenant_id       text        NOT NULL,
    purpose         text        NOT NULL,
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL,
    topic           text        NOT NULL,
    state           bytea       NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, purpose, stream_id, stream_version)
);
