-- People who log in (docs/auth.md). Users, roles and revocations are events in
-- the store (UserRegistered, UserRoleChanged, UserPasswordSet, SessionStarted,
-- SessionRevoked); these tables hold what must never enter the history (the
-- password hash, the refresh tokens' hashes) and the fast revocation check.

-- One login per e-mail address, across tenants: the address names the tenant.
CREATE TABLE auth_credentials (
    email          text        PRIMARY KEY,  -- lower case
    tenant_id      text        NOT NULL,
    user_id        text        NOT NULL,
    password_hash  text        NOT NULL,     -- argon2id, PHC string
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT auth_credentials_user UNIQUE (tenant_id, user_id)
);

-- A session is one refresh-token family; revoked_at set = every token of it is dead
-- (refresh tokens and the access tokens that carry its id).
CREATE TABLE auth_sessions (
    session_id     text        PRIMARY KEY,
    tenant_id      text        NOT NULL,
    user_id        text        NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    revoked_reason text
);
CREATE INDEX auth_sessions_user ON auth_sessions (tenant_id, user_id);

-- Refresh tokens, stored only as their SHA-256 (256-bit random values). A token
-- is spent when it is exchanged; presenting a spent token again burns its session.
CREATE TABLE auth_refresh_tokens (
    token_sha256   bytea       PRIMARY KEY,
    session_id     text        NOT NULL REFERENCES auth_sessions (session_id),
    issued_at      timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    spent_at       timestamptz
);
CREATE INDEX auth_refresh_tokens_session ON auth_refresh_tokens (session_id);
