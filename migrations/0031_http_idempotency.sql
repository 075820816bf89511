-- The HTTP face of commands: the first answer to each `Idempotency-Key` of a
-- tenant, kept forever (read_api/idempotency.py, docs/api.md "Commands").
-- A resend with the same key and the same request gets this answer again; the
-- same key with another request is refused. Only successful answers are kept
-- (a refused command wrote nothing and may be sent again).
CREATE TABLE http_idempotency (
    tenant_id    text        NOT NULL,
    key          text        NOT NULL,
    fingerprint  bytea       NOT NULL,  -- SHA-256 of route + canonical command JSON
    status       integer     NOT NULL,
    body         bytea       NOT NULL,  -- the response body as first sent
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);
