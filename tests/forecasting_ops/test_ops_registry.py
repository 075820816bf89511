"""Registry on real PostgreSQL: versions with window, params and backtest; promote; rollback."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest

from deploy.cli import main as obrador
from forecasting.ops import registry
from forecasting.ops.registry import RegistryError, SeriesKey


def test_versions_promote_and_rollback(
    pg_url: str,
    load_sales: Callable[[list[tuple[int, int]]], list[SeriesKey]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (key,) = load_sales([(2, 101)])
    frame = registry.load_series(pg_url, key)
    end: dt.date = frame["date"][-1]

    v1 = registry.train_and_register(pg_url, key, through=end - dt.timedelta(days=7))
    assert v1 is not None and v1.version == 1 and v1.promoted  # first version: promoted
    assert v1.train_end == end - dt.timedelta(days=7)
    assert v1.kind == "obrador" and "config" in v1.params
    assert v1.params["selection"]["peers"] == ["autoets", "autotheta", "croston", "adida", "tsb"]
    assert len(v1.params["info"]["gbm_refit_days"]) >= 1
    m = v1.metrics
    assert m["origins"] == 4 and m["open_days"] > 20
    # the backtest scores the model and its baselines on the same days
    assert 0 < m["wape"] < 1 and 0 < m["seasonal_naive_wape"] < 2
    assert m["weekday_mean4_wape"] > 0

    v2 = registry.train_and_register(pg_url, key, through=end)
    assert v2 is not None and v2.version == 2 and v2.train_end == end
    # promoted iff it beat seasonal-naive and the promoted v1 on its own backtest window
    m2 = v2.metrics
    assert m2["promoted_version"] == 1 and 0 < m2["promoted_wape"] < 1
    assert v2.promoted == (
        m2["wape"] <= m2["seasonal_naive_wape"] and m2["wape"] <= m2["promoted_wape"]
    )
    registry.promote(pg_url, key, 2)
    found = registry.promoted(pg_url, key)
    assert found is not None and found[0].version == 2
    assert found[1].trained_through == end  # the stored model itself comes back

    # rollback is one command: the CLI, against the same database
    monkeypatch.setenv("DATABASE_URL", pg_url)
    assert (
        obrador(
            [
                *("forecast", "rollback", "--tenant", key.tenant_id),
                *("--store", key.store_id, "--sku", key.sku, "--json"),
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["version"] == 1 and out["promoted"]
    rows = {v.version: v for v in registry.versions(pg_url, key.tenant_id)}
    assert rows[1].promoted and not rows[2].promoted and rows[2].rolled_back_at is not None
    # exactly one promoted version per series, and nothing older to go back to
    with pytest.raises(RegistryError):
        registry.rollback(pg_url, key)
    # promoting the rolled-back version again clears its mark; rollback returns to v1
    assert registry.promote(pg_url, key, 2).rolled_back_at is None
    assert registry.rollback(pg_url, key).version == 1
    with pytest.raises(RegistryError):
        registry.promote(pg_url, key, 9)


def test_redelivered_job_registers_once(
    pg_url: str, load_sales: Callable[[list[tuple[int, int]]], list[SeriesKey]]
) -> None:
    (key,) = load_sales([(3, 109)])
    first = registry.train_and_register(pg_url, key, job_id="run1:x")
    again = registry.train_and_register(pg_url, key, job_id="run1:x")
    assert first is not None and again is None
    assert [v.version for v in registry.versions(pg_url, key.tenant_id)] == [1]
