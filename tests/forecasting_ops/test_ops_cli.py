"""``obrador forecast …`` operations end to end: two worker processes, models, publish, schedule."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from deploy.cli import main as obrador
from forecasting.ops import registry
from forecasting.ops.registry import SeriesKey

OBRADOR = [sys.executable, "-m", "deploy.cli"]


def main(args: list[str]) -> int:
    return obrador(["forecast", *args])


def test_cli_queue_with_two_worker_processes_then_publish_and_schedule(
    pg_url: str,
    nats_url: str,
    load_sales: Callable[[list[tuple[int, int]]], list[SeriesKey]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keys = load_sales([(4, 101), (4, 109), (5, 101)])
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("NATS_URL", nats_url)
    assert main(["enqueue", "--tenant", "ddop", "--json", "--run-id", "cli1"]) == 0
    jobs = json.loads(capsys.readouterr().out)["jobs"]
    assert len(jobs) == len(keys)

    env = {**os.environ, "DATABASE_URL": pg_url, "NATS_URL": nats_url}
    procs = [
        subprocess.Popen(
            [*OBRADOR, "forecast", "worker", "--drain", "--json", "--name", name],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=os.getcwd(),
        )
        for name in ("w1", "w2")
    ]
    outs = [
        json.loads(p.communicate(timeout=120)[0].decode().strip().splitlines()[-1]) for p in procs
    ]
    assert all(p.returncode == 0 for p in procs)
    trained = [j for o in outs for j in o["trained"]]
    assert sorted(trained) == sorted(jobs)  # every series once, across two processes

    assert main(["models", "--tenant", "ddop", "--json"]) == 0
    models = json.loads(capsys.readouterr().out)
    assert sorted((m["store_id"], m["sku"], m["version"]) for m in models) == sorted(
        (k.store_id, k.sku, 1) for k in keys
    )

    assert (
        main(["publish", "--tenant", "ddop", "--day", "2019-05-01", "--batch", "10", "--json"]) == 0
    )
    published = json.loads(capsys.readouterr().out)
    assert len(published) == 3 and all(p["forecast_appended"] for p in published)
    assert all(p["quantity"] % 10 == 0 for p in published)

    # without --day: the day after the last sales day, said out loud (not today's date)
    last = max(registry.load_series(pg_url, key)["date"][-1] for key in keys)
    planned = last + dt.timedelta(days=1)
    assert main(["publish", "--tenant", "ddop", "--json"]) == 0
    out, err = capsys.readouterr()
    assert {p["day"] for p in json.loads(out)} == {planned.isoformat()}
    assert f"planning {planned}, the day after ddop's last sales day" in err
    assert main(["publish", "--tenant", "nobody", "--json"]) == 1
    assert "no sales recorded" in capsys.readouterr().err

    assert main(["schedule", "add", "--tenant", "ddop", "--json"]) == 0
    scheduled = json.loads(capsys.readouterr().out)
    assert {s["id"] for s in scheduled} == {
        "retrain:ddop:Europe/Berlin",
        "publish:ddop:Europe/Berlin",
    }
    assert main(["schedule", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == scheduled
