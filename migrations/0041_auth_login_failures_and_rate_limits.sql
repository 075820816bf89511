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

-- Rate-limit hits shared by the processes of a node (read_api/ratelimit.py,
-- SharedCounts): each process adds its new hits once a second and reads back
-- everyone's. Window numbers are wall-clock seconds // window length. UNLOGGED:
-- cheap to write, and a crash only forgets the last minute's counts.
CREATE UNLOGGED TABLE rate_limit_hits (
    limit_name    text    NOT NULL,  -- e.g. "address:6000/minute"
    key           text    NOT NULL,  -- e.g. "address:10.0.0.7"
    window_index  bigint  NOT NULL,
    hits          integer NOT NULL,
    PRIMARY KEY (limit_name, key, window_index)
);
