-- The alerts read model (projections/models/alerts.py, docs/alerts.md).
--
-- rm_alerts: one row per alert, open or closed, with its priority score and the
-- four factors that make it, what to do and what not acting costs.
-- rm_alert_facts: what the rules watch, one JSON record per tenant x subject
-- (the tenant's clock, an item, the stock of an item in a store, an order...).
CREATE TABLE rm_alerts (
    tenant_id        text        NOT NULL,
    alert_id         text        NOT NULL,
    dedup_key        text        NOT NULL,
    subject          text        NOT NULL,
    type             text        NOT NULL,
    severity         text        NOT NULL,
    score            integer     NOT NULL,
    base_score       integer     NOT NULL,
    escalation       integer     NOT NULL,
    escalation_why   text        NOT NULL,
    impact           integer     NOT NULL,
    impact_why       text        NOT NULL,
    urgency          integer     NOT NULL,
    urgency_why      text        NOT NULL,
    agency           integer     NOT NULL,
    agency_why       text        NOT NULL,
    confidence       integer     NOT NULL,
    confidence_why   text        NOT NULL,
    title            text        NOT NULL,
    description      text        NOT NULL,
    action           text        NOT NULL,
    consequence      text        NOT NULL,
    units            numeric,
    euros            numeric,
    deadline         timestamptz,
    store_id         text,
    item_id          text,
    order_id         text,
    lot_id           text,
    supplier_id      text,
    equipment_id     text,
    po_id            text,
    status           text        NOT NULL,
    active           boolean     NOT NULL,
    occurrences      integer     NOT NULL,
    raised_at        timestamptz NOT NULL,
    last_raised_at   timestamptz NOT NULL,
    cleared_at       timestamptz,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    snoozed_until    timestamptz,
    resolved_at      timestamptz,
    resolved_by      text,
    resolution       text,
    auto_resolved    boolean     NOT NULL,
    updated_at       timestamptz,
    caused_by        text        NOT NULL,  -- dedup keys of the causing alerts, space-separated
    PRIMARY KEY (tenant_id, alert_id)
);
CREATE INDEX rm_alerts_open ON rm_alerts (tenant_id, score DESC, raised_at)
    WHERE status <> 'resolved';
CREATE INDEX rm_alerts_store ON rm_alerts (tenant_id, store_id, status);

CREATE TABLE rm_alert_facts (
    tenant_id  text    NOT NULL,
    subject    text    NOT NULL,
    timed      boolean NOT NULL,
    facts      jsonb   NOT NULL,
    PRIMARY KEY (tenant_id, subject)
);
CREATE INDEX rm_alert_facts_timed ON rm_alert_facts (tenant_id) WHERE timed;
