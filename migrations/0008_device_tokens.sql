-- POS devices and their credentials: one row per device, the token stored only
-- as its SHA-256 (tokens are 256-bit random values, so a fast hash is enough;
-- the plain token is shown once, by `obrador pos register-device`).
CREATE TABLE pos_devices (
    tenant_id     text        NOT NULL,
    device_id     text        NOT NULL,
    store_id      text        NOT NULL,
    token_sha256  bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    PRIMARY KEY (tenant_id, device_id),
    CONSTRAINT pos_devices_token_key UNIQUE (token_sha256)
);
