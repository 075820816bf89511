-- Every attempt to send a notification message, kept (docs/alerts.md "Notifications"):
-- the outcome, the HTTP status of a webhook, the error, when and how long.
CREATE TABLE notify_attempts (
    message_id  bigint      NOT NULL REFERENCES notify_messages (message_id),
    attempt     integer     NOT NULL,
    at          timestamptz NOT NULL,
    status      text        NOT NULL CHECK (status IN ('delivered', 'failed', 'dropped')),
    http_status integer,
    error       text,
    duration_ms integer     NOT NULL,
    PRIMARY KEY (message_id, attempt)
);
