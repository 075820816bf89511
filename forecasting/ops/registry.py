"""Model registry: every trained version of a tenant x store x SKU series in PostgreSQL.

A version row (``forecast_model_versions``, migration 0011) keeps the model
kind and parameters, the training window, the metrics of a cheap rolling-origin
backtest on the last weeks (WAPE, MAE, bias against seasonal-naive and the
same-weekday 4-week mean on the same days) and the fitted model itself
(pickled :class:`forecasting.api.FittedForecaster`), so publishing and rollback
never retrain.

Promotion rule (:func:`train_and_register`): a new version is promoted when no
version is promoted yet, or when its backtest WAPE is not worse than
seasonal-naive's on the same days **and** not worse than the currently promoted
version's on the same days (``metrics.promoted_wape``, the promoted model
scored on the new version's window by ``forecasting.gate.score_fitted``).
``promote`` forces a version; ``rollback``
demotes the promoted version (marking it rolled back) and re-promotes the
version that was promoted before it.

Sales come through ``forecasting.ops.readport`` (store-local days). A day on which
the store sold nothing at all is a closed day: never scored, never a zero target.
The promotion backtest itself is pure modelling (``forecasting.gate``).
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from forecasting.api import FittedForecaster, train_series
from forecasting.gate import MIN_TRAIN_DAYS, backtest, beats_baseline, score_fitted
from forecasting.ops.keys import RegistryError, SeriesKey
from forecasting.ops.readport import connect, list_series, load_series


@dataclass(frozen=True)
class ModelVersion:
    key: SeriesKey
    version: int
    kind: str
    params: dict[str, Any]
    train_start: dt.date
    train_end: dt.date
    metrics: dict[str, Any]
    promoted: bool
    job_id: str | None
    created_at: dt.datetime
    promoted_at: dt.datetime | None
    rolled_back_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.key.tenant_id,
            "store_id": self.key.store_id,
            "sku": self.key.sku,
            "version": self.version,
            "kind": self.kind,
            "train_start": self.train_start.isoformat(),
            "train_end": self.train_end.isoformat(),
            "metrics": self.metrics,
            "promoted": self.promoted,
            "job_id": self.job_id,
            "created_at": self.created_at.isoformat(),
            "promoted_at": self.promoted_at.isoformat() if self.promoted_at else None,
            "rolled_back_at": self.rolled_back_at.isoformat() if self.rolled_back_at else None,
            "params": self.params,
        }


_COLUMNS = (
    "tenant_id, store_id, sku, version, kind, params, train_start, train_end, metrics, "
    "promoted, job_id, created_at, promoted_at, rolled_back_at"
)


def _version(row: dict[str, Any]) -> ModelVersion:
    return ModelVersion(
        key=SeriesKey(row["tenant_id"], row["store_id"], row["sku"]),
        version=row["version"],
        kind=row["kind"],
        params=row["params"],
        train_start=row["train_start"],
        train_end=row["train_end"],
        metrics=row["metrics"],
        promoted=row["promoted"],
        job_id=row["job_id"],
        created_at=row["created_at"],
        promoted_at=row["promoted_at"],
        rolled_back_at=row["rolled_back_at"],
    )


# ---------------------------------------------------------------- versions


def _lock_series(conn: psycopg.Connection[Any], key: SeriesKey) -> None:
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 11))",
        (f"{key.tenant_id}\x1f{key.store_id}\x1f{key.sku}",),
    )


def _params(model: FittedForecaster) -> dict[str, Any]:
    params: dict[str, Any] = {"config": asdict(model.config), "info": model.info}
    if model.blend is not None:
        params["blend"] = [round(float(w), 3) for w in model.blend]
    if model.selection is not None:
        sel = model.selection
        params["selection"] = {
            "window": sel.selection_window,
            "series_margin": sel.series_margin,
            "peers": list(sel.peers),
            "peer_refit_every": sel.peer_refit_every,
            "gbm_refit_every": sel.refit_every,
        }
    # only JSON-safe values (the config may hold tuples, numpy scalars)
    return dict(json.loads(json.dumps(params, default=str)))


def register(
    conninfo: str,
    key: SeriesKey,
    model: FittedForecaster,
    metrics: dict[str, Any],
    *,
    train_start: dt.date,
    train_end: dt.date,
    job_id: str | None = None,
    promote_if_best: bool = True,
) -> ModelVersion | None:
    """Store a new version (next number of the series); promote it by the rule above.

    Returns None when ``job_id`` already produced a version (a redelivered job).
    """
    with connect(conninfo) as conn, conn.transaction():
        _lock_series(conn, key)
        if job_id is not None:
            done = conn.execute(
                "SELECT 1 FROM forecast_model_versions WHERE job_id = %s", (job_id,)
            ).fetchone()
            if done:
                return None
        row = conn.execute(
            "SELECT coalesce(max(version), 0) + 1 AS v, bool_or(promoted) AS any_promoted"
            " FROM forecast_model_versions WHERE tenant_id = %s AND store_id = %s AND sku = %s",
            (key.tenant_id, key.store_id, key.sku),
        ).fetchone()
        assert row is not None
        version = int(row["v"])
        promote_now = promote_if_best and (not row["any_promoted"] or beats_baseline(metrics))
        if promote_now:
            conn.execute(
                "UPDATE forecast_model_versions SET promoted = false"
                " WHERE tenant_id = %s AND store_id = %s AND sku = %s AND promoted",
                (key.tenant_id, key.store_id, key.sku),
            )
        inserted = conn.execute(
            f"INSERT INTO forecast_model_versions (tenant_id, store_id, sku, version, kind,"
            f" params, train_start, train_end, metrics, artifact, job_id, promoted, promoted_at)"
            f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            f" CASE WHEN %s THEN now() END) RETURNING {_COLUMNS}",
            (
                key.tenant_id,
                key.store_id,
                key.sku,
                version,
                model.kind,
                Jsonb(_params(model)),
                train_start,
                train_end,
                Jsonb(metrics),
                pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL),
                job_id,
                promote_now,
                promote_now,
            ),
        ).fetchone()
        assert inserted is not None
        return _version(inserted)


def train_and_register(
    conninfo: str,
    key: SeriesKey,
    *,
    through: dt.date | None = None,
    job_id: str | None = None,
) -> ModelVersion | None:
    """Load the series, backtest, train on all of it, register (and maybe promote)."""
    if job_id is not None:
        with connect(conninfo) as conn:
            if conn.execute(
                "SELECT 1 FROM forecast_model_versions WHERE job_id = %s", (job_id,)
            ).fetchone():
                return None
    frame = load_series(conninfo, key, through)
    if frame.height < MIN_TRAIN_DAYS:
        raise RegistryError(f"{key.label()}: {frame.height} days of history < {MIN_TRAIN_DAYS}")
    metrics = backtest(frame)
    current = promoted(conninfo, key)
    if current is not None and metrics.get("origins"):
        # the guard: a new version must not be worse than the one in use, same days
        metrics["promoted_version"] = current[0].version
        metrics["promoted_wape"] = score_fitted(current[1], frame)
    model = train_series(frame)
    return register(
        conninfo,
        key,
        model,
        metrics,
        train_start=frame["date"][0],
        train_end=frame["date"][-1],
        job_id=job_id,
    )


def versions(
    conninfo: str, tenant_id: str, store_id: str | None = None, sku: str | None = None
) -> list[ModelVersion]:
    with connect(conninfo) as conn:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM forecast_model_versions WHERE tenant_id = %s"
            " AND (%s::text IS NULL OR store_id = %s) AND (%s::text IS NULL OR sku = %s)"
            " ORDER BY store_id, sku, version",
            (tenant_id, store_id, store_id, sku, sku),
        ).fetchall()
    return [_version(r) for r in rows]


def promoted(conninfo: str, key: SeriesKey) -> tuple[ModelVersion, FittedForecaster] | None:
    """The promoted version of a series and its fitted model, if any."""
    with connect(conninfo) as conn:
        row = conn.execute(
            f"SELECT {_COLUMNS}, artifact FROM forecast_model_versions"
            " WHERE tenant_id = %s AND store_id = %s AND sku = %s AND promoted",
            (key.tenant_id, key.store_id, key.sku),
        ).fetchone()
    if row is None or row["artifact"] is None:
        return None
    model = pickle.loads(row["artifact"])  # written by register() above
    if not isinstance(model, FittedForecaster):
        raise RegistryError(f"{key.label()} v{row['version']}: artifact is not a model")
    return _version(row), model


def latest_trained(conninfo: str, tenant_id: str) -> dict[SeriesKey, tuple[dt.date, int | None]]:
    """Per trained series of the tenant: the last day of its latest version's window and
    that version's pooled-model refit cadence (``params.selection.gbm_refit_every``;
    None when the version does not record one)."""
    with connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT DISTINCT ON (store_id, sku) store_id, sku, train_end,"
            " params -> 'selection' ->> 'gbm_refit_every' AS every"
            " FROM forecast_model_versions WHERE tenant_id = %s"
            " ORDER BY store_id, sku, version DESC",
            (tenant_id,),
        ).fetchall()
    return {
        SeriesKey(tenant_id, r["store_id"], r["sku"]): (
            r["train_end"],
            int(r["every"]) if r["every"] is not None else None,
        )
        for r in rows
    }


def promoted_series(conninfo: str, tenant_id: str) -> list[SeriesKey]:
    with connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT store_id, sku FROM forecast_model_versions WHERE tenant_id = %s AND promoted"
            " ORDER BY store_id, sku",
            (tenant_id,),
        ).fetchall()
    return [SeriesKey(tenant_id, r["store_id"], r["sku"]) for r in rows]


def promote(conninfo: str, key: SeriesKey, version: int) -> ModelVersion:
    """Make ``version`` the promoted version of its series (clears a rollback mark)."""
    with connect(conninfo) as conn, conn.transaction():
        _lock_series(conn, key)
        return _promote_locked(conn, key, version)


def _promote_locked(conn: psycopg.Connection[Any], key: SeriesKey, version: int) -> ModelVersion:
    exists = conn.execute(
        "SELECT 1 FROM forecast_model_versions WHERE tenant_id = %s AND store_id = %s"
        " AND sku = %s AND version = %s",
        (key.tenant_id, key.store_id, key.sku, version),
    ).fetchone()
    if exists is None:
        raise RegistryError(f"{key.label()}: no version {version}")
    conn.execute(
        "UPDATE forecast_model_versions SET promoted = false"
        " WHERE tenant_id = %s AND store_id = %s AND sku = %s AND promoted",
        (key.tenant_id, key.store_id, key.sku),
    )
    row = conn.execute(
        f"UPDATE forecast_model_versions SET promoted = true, promoted_at = clock_timestamp(),"
        f" rolled_back_at = NULL WHERE tenant_id = %s AND store_id = %s AND sku = %s"
        f" AND version = %s RETURNING {_COLUMNS}",
        (key.tenant_id, key.store_id, key.sku, version),
    ).fetchone()
    assert row is not None
    return _version(row)


def rollback(conninfo: str, key: SeriesKey) -> ModelVersion:
    """Demote the promoted version and re-promote the one promoted before it.

    "Before it": the most recently promoted other version not itself rolled
    back; when no other version was ever promoted, the highest lower version.
    Repeated rollbacks walk back through the promotion history.
    """
    with connect(conninfo) as conn, conn.transaction():
        _lock_series(conn, key)
        current = conn.execute(
            "SELECT version FROM forecast_model_versions WHERE tenant_id = %s AND store_id = %s"
            " AND sku = %s AND promoted",
            (key.tenant_id, key.store_id, key.sku),
        ).fetchone()
        if current is None:
            raise RegistryError(f"{key.label()}: no promoted version to roll back")
        cur = int(current["version"])
        target = conn.execute(
            # the most recently promoted other version, not itself rolled back; else the
            # highest lower version (promotion history lost, e.g. versions imported)
            "SELECT version FROM forecast_model_versions WHERE tenant_id = %s AND store_id = %s"
            " AND sku = %s AND version <> %s AND rolled_back_at IS NULL"
            " AND (promoted_at IS NOT NULL OR version < %s)"
            " ORDER BY promoted_at DESC NULLS LAST, version DESC LIMIT 1",
            (key.tenant_id, key.store_id, key.sku, cur, cur),
        ).fetchone()
        if target is None:
            raise RegistryError(f"{key.label()}: no previous version to roll back to")
        conn.execute(
            "UPDATE forecast_model_versions"
            " SET promoted = false, rolled_back_at = clock_timestamp()"
            " WHERE tenant_id = %s AND store_id = %s AND sku = %s AND version = %s",
            (key.tenant_id, key.store_id, key.sku, cur),
        )
        return _promote_locked(conn, key, int(target["version"]))


__all__ = [
    "MIN_TRAIN_DAYS",
    "ModelVersion",
    "RegistryError",
    "SeriesKey",
    "backtest",
    "list_series",
    "load_series",
]
