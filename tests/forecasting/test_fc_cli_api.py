"""`obrador forecast backtest` (JSON output) and the train/forecast API, on real data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from deploy.cli import main
from forecasting.api import forecast, train_series


@pytest.fixture(scope="module")
def one_store_csv(ddop_frame: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ddop") / "store2.csv"
    ddop_frame.filter(pl.col("store") == 2).write_csv(path)
    return path


def test_bad_horizons_are_a_usage_error_naming_the_option(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = tmp_path / "x.csv"
    data.write_text("d,s,v\n")
    args = ["forecast", "backtest", str(data), "--date-col", "d", "--series-col", "s"]
    assert main([*args, "--value-col", "v", "--horizons", "0"]) == 2
    assert "--horizons" in capsys.readouterr().err
    assert main([*args, "--value-col", "v", "--horizons", "1,x"]) == 2
    assert "horizons must be integers" in capsys.readouterr().err


def test_cli_backtest_json(one_store_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "forecast",
            "backtest",
            str(one_store_csv),
            "--date-col",
            "date",
            "--series-col",
            "store",
            "--series-col",
            "product",
            "--value-col",
            "demand",
            "--exog-col",
            "is_holiday",
            "--exog-col",
            "temperature",
            "--horizons",
            "1,7",
            "--origins",
            "14",
            "--workers",
            "1",
            "--prophet-series",
            "1",
            "--prophet-origin-step",
            "14",
            "--json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"horizons", "series", "origins", "seconds"}
    assert out["series"] == 3 and out["origins"] == 14
    assert set(out["horizons"]["1"]) == {
        "seasonal_naive",
        "weekday_mean4",
        "prophet",
        "autoets",
        "autotheta",
        "croston",
        "adida",
        "tsb",
        "gbm",
        "obrador",
    }
    for met in out["horizons"]["1"].values():
        assert {"wape", "pinball", "coverage80"} <= set(met)
    assert out["seconds"] > 0


def test_text_backtest_writes_a_png_only_when_asked_and_never_prints_nan(
    one_store_csv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    args = [
        *("forecast", "backtest", str(one_store_csv), "--date-col", "date"),
        *("--series-col", "store", "--series-col", "product", "--value-col", "demand"),
        *("--horizons", "1", "--origins", "14", "--workers", "1"),
        *("--prophet-series", "1", "--prophet-origin-step", "14"),
    ]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert list(tmp_path.glob("*.png")) == []  # nothing written unasked
    assert "nan" not in out.lower() and "None" not in out
    assert "obrador" in out and "plot:" not in out
    assert "backtest of" not in err  # no progress line when stderr is not a terminal
    picture = tmp_path / "pictures" / "bt.png"
    picture.parent.mkdir()
    assert main([*args, "--json", "--plot", str(picture)]) == 0
    assert picture.stat().st_size > 1000
    json.loads(capsys.readouterr().out)  # --json output stays one JSON document


def test_unscored_metrics_read_not_scored() -> None:
    from deploy.cli.forecast import format_table, scored

    assert scored(float("nan")) == scored(None) == "not scored"
    assert scored(0.12345) == "0.1235"
    table = format_table(
        {
            "horizons": {"1": {"prophet": {"wape": float("nan"), "mae": None}}},
            "series": 1,
            "origins": 2,
            "seconds": 0.1,
        }
    )
    assert "not scored" in table and "nan" not in table and "None" not in table


def test_progress_ticks_on_a_terminal_only(capsys: pytest.CaptureFixture[str]) -> None:
    from deploy.cli.common import working

    with working("backtest of x.csv", enabled=True):
        pass
    assert "backtest of x.csv…" in capsys.readouterr().err
    with working("backtest of x.csv", enabled=False):
        pass
    assert capsys.readouterr().err == ""


def test_train_series_and_forecast_quantiles(ddop_frame: pl.DataFrame) -> None:
    frame = (
        ddop_frame.filter((pl.col("store") == 2) & (pl.col("product") == 101))
        .select("date", pl.col("demand").alias("y"), "is_holiday", "promotion_currentweek")
        .with_columns(closed=pl.col("y") == 0)
    )
    model = train_series(frame)
    assert model.kind == "obrador"  # the backtest's selection over every candidate
    last = frame["date"].max()
    assert isinstance(last, dt.date)
    closure = pl.DataFrame(
        {"date": [last + dt.timedelta(days=3)], "key0": ["series"], "closed": [True]}
    )
    out = forecast(model, 7, future=closure)
    assert out.height == 7
    assert out["date"].to_list()[0] == last + dt.timedelta(days=1)
    q = out.select("q05", "q25", "q50", "q75", "q95").to_numpy()
    assert (np.diff(q, axis=1) >= 0).all()
    assert out["mean"][2] == 0.0  # declared closure
    assert (out["mean"].to_numpy()[[0, 1, 3]] > 50).all()


def test_short_history_falls_back(ddop_frame: pl.DataFrame) -> None:
    frame = (
        ddop_frame.filter((pl.col("store") == 2) & (pl.col("product") == 101))
        .select("date", pl.col("demand").alias("y"))
        .tail(60)
    )
    model = train_series(frame)
    assert model.kind == "weekday_mean4"
    assert forecast(model, 3).height == 3
