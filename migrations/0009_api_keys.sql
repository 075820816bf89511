-- Read API credentials: one row per key, the key stored only as its SHA-256
-- (keys are 256-bit random values, so a fast hash is enough; the plain key is
-- shown once, by `obrador api-key create`). The tenant and role of a request
-- come from this row, never from the request.
CREATE TABLE api_keys (
    key_id       text        NOT NULL,  -- public handle, to list or revoke a key
    tenant_id    text        NOT NULL,
    role         text        NOT NULL,  -- domain.events.organisation.Role value
    label        text        NOT NULL DEFAULT '',
    key_sha256   bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    PRIMARY KEY (tenant_id, key_id),
    CONSTRAINT api_keys_key_sha256_key UNIQUE (key_sha256)
);
