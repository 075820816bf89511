-- Projector runtime bookkeeping: checkpoints (moved in the same transaction as
-- the read-model rows), status/errors per partition, and partition leases
-- shared by projector processes.

CREATE TABLE projection_checkpoints (
    projection  text    NOT NULL,
    partition   integer NOT NULL,
    position    bigint  NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, partition)
);

CREATE TABLE projection_status (
    projection  text    NOT NULL,
    partition   integer NOT NULL,
    state       text    NOT NULL,          -- running | failed | stopped
    error       text,
    failed_position bigint,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, partition)
);

CREATE TABLE projection_leases (
    projection  text    NOT NULL,
    partition   integer NOT NULL,
    owner       text    NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (projection, partition)
);
