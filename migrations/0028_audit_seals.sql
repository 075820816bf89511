-- Audit seals: a tenant's stream heads at one point of the global log, hashed
-- and chained seal to seal (`obrador audit seal`). A per-stream hash chain
-- cannot see its own tail cut off, nor a whole stream removed; a seal can,
-- for everything at or below its position. The seal hash is also printed so
-- it can be kept outside the database. docs/adr/0007-hash-chain.md.

CREATE TABLE audit_seals (
    tenant_id         text        NOT NULL,
    seq               bigint      NOT NULL,
    through_position  bigint      NOT NULL,
    stream_count      bigint      NOT NULL,
    event_count       bigint      NOT NULL,
    digest            bytea       NOT NULL,  -- sha256 over the heads below, by stream id
    seal_hash         bytea       NOT NULL,  -- sha256(previous seal's hash || this seal)
    sealed_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE audit_seal_heads (
    tenant_id       text   NOT NULL,
    seq             bigint NOT NULL,
    stream_id       text   NOT NULL,
    stream_version  bigint NOT NULL,
    position        bigint NOT NULL,
    hash            bytea  NOT NULL,
    PRIMARY KEY (tenant_id, seq, stream_id),
    FOREIGN KEY (tenant_id, seq) REFERENCES audit_seals (tenant_id, seq)
);
