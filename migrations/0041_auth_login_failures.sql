-- Failed logins per account (read_api/lockout.py, docs/auth.md "Failed logins").
--
-- Keyed by the normalised e-mail as typed, whether or not an account has it, so
-- a lock says nothing about which addresses exist. Shared by every process of
-- the node (the counters live here, not in memory). A success deletes the row.
CREATE TABLE auth_login_failures (
    email           text        PRIMARY KEY,
    failures        integer     NOT NULL,   -- in the window that began at window_started
    window_started  timestamptz NOT NULL,
    lockouts        integer     NOT NULL DEFAULT 0,  -- consecutive locks: the backoff doubles
    locked_until    timestamptz
);
