-- Notifications of new and escalated alerts (streams/notify, docs/alerts.md "Notifications").
--
-- notify_deliveries: the promise to tell one channel about one alert at one
-- escalation level (rm_alerts.escalation when noticed; 0 = new). Its primary
-- key is what makes "never the same alert twice to the same channel" hold,
-- whatever the restarts or the number of notifiers.
CREATE TABLE notify_deliveries (
    tenant_id   text        NOT NULL,
    alert_id    text        NOT NULL,
    channel_id  text        NOT NULL,
    level       integer     NOT NULL,
    severity    text        NOT NULL,
    mode        text        NOT NULL CHECK (mode IN ('now', 'digest')),
    due_at      timestamptz NOT NULL,
    state       text        NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'composed', 'skipped')),
    skip_reason text,
    message_id  bigint,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, alert_id, channel_id, level)
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (due_at) WHERE state = 'pending';

-- notify_messages: what goes out to one channel — one alert, or one tenant's
-- daily digest — with the exact bytes every attempt sends. ``key`` is the
-- receiver's idempotency key (header X-Obrador-Delivery), unique per tenant:
-- ``<alert>:<channel>:<level>`` or ``digest:<channel>:<local day>``.
CREATE TABLE notify_messages (
    message_id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       text        NOT NULL,
    channel_id      text        NOT NULL,
    channel_kind    text        NOT NULL CHECK (channel_kind IN ('webhook', 'email')),
    target          text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('alert', 'digest')),
    key             text        NOT NULL,
    subject         text        NOT NULL,
    body            bytea       NOT NULL,
    state           text        NOT NULL DEFAULT 'pending'
                                CHECK (state IN ('pending', 'sent', 'dead', 'dropped')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    CONSTRAINT notify_messages_key UNIQUE (tenant_id, key)
);
CREATE INDEX notify_messages_due ON notify_messages (next_attempt_at) WHERE state = 'pending';
