-- Forecast model registry (forecasting/registry.py) and the apscheduler job
-- store (forecasting/jobs.py). See docs/forecasting-ops.md.

-- Every trained model version of one tenant x store x SKU series, with what it
-- was trained on, how it scored in its backtest and the fitted model itself.
CREATE TABLE forecast_model_versions (
    tenant_id       text        NOT NULL,
    store_id        text        NOT NULL,
    sku             text        NOT NULL,
    version         integer     NOT NULL,           -- 1, 2, ... per series
    kind            text        NOT NULL,           -- gbm | weekday_mean4 | seasonal_naive
    params          jsonb       NOT NULL,           -- model configuration, blend weights, info
    train_start     date        NOT NULL,           -- first day of the training window
    train_end       date        NOT NULL,           -- last day (store-local) of the training window
    metrics         jsonb       NOT NULL,           -- backtest: wape, mae, bias, baselines, origins
    artifact        bytea,                          -- pickled forecasting.api.FittedForecaster
    job_id          text        UNIQUE,             -- the work-queue job that trained it (redelivery-safe)
    promoted        boolean     NOT NULL DEFAULT false,
    promoted_at     timestamptz,                    -- last time it became the promoted version
    rolled_back_at  timestamptz,                    -- demoted by a rollback: not chosen again by rollback
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, store_id, sku, version)
);
-- At most one promoted version per series.
CREATE UNIQUE INDEX forecast_model_versions_promoted
    ON forecast_model_versions (tenant_id, store_id, sku) WHERE promoted;

-- apscheduler 3 jobs (pickled Job state), persisted across scheduler restarts.
CREATE TABLE forecast_scheduler_jobs (
    id             text             PRIMARY KEY,
    next_run_time  double precision,                -- epoch seconds; NULL = paused
    job_state      bytea            NOT NULL
);
CREATE INDEX forecast_scheduler_jobs_next ON forecast_scheduler_jobs (next_run_time);
