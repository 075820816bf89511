-- Read model of published forecasts: the latest forecast for each tenant ×
-- store × product × day, with its interval and where it came from.
CREATE TABLE rm_forecasts (
    tenant_id       text        NOT NULL,
    store_id        text        NOT NULL,
    sku             text        NOT NULL,
    day             date        NOT NULL,
    mean            numeric     NOT NULL,
    lower           numeric     NOT NULL,
    upper           numeric     NOT NULL,
    interval_level  double precision NOT NULL,
    forecast_id     text        NOT NULL,
    model           text        NOT NULL,
    model_version   text        NOT NULL,
    published_at    timestamptz NOT NULL,
    position        bigint      NOT NULL,
    PRIMARY KEY (tenant_id, store_id, sku, day)
);
