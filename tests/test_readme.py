"""Every shell example of the README runs as written against a running `obrador demo`.

The examples are the ```sh blocks of README.md, run in order with bash (`set -e`,
`pipefail`) from a folder where the demo keeps its data in `./.obrador`, as a user
who typed `make demo` in their clone would. Only the API port differs (a free one
instead of 8000: tests never depend on a fixed port). The same running demo serves
the dashboard and the API with its key (one demo node for the module, not one per test).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.embedded.process import free_port

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def shell_examples() -> list[str]:
    return BLOCK.findall((ROOT / "README.md").read_text())


def test_the_readme_has_shell_examples_of_each_entry_point() -> None:
    text = "\n".join(shell_examples())
    for entry in ("auth/login", "pos register-device", "pos replay", "import sales"):
        assert entry in text, entry


@dataclass
class DemoNode:
    """A running ``obrador demo`` in its own folder (data in ``./.obrador``)."""

    folder: Path
    port: int
    env: dict[str, str]
    lines: list[str]  # its stdout and stderr so far

    @property
    def text(self) -> str:
        return "".join(self.lines)


@pytest.fixture(scope="module")
def demo_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoNode]:
    """One demo node for the module's tests: a fresh data folder, loaded and planned.

    The tests only add to it, and none depends on what another added (the README
    examples sell today and on the planned day, outside the demo's own days).
    """
    folder = tmp_path_factory.mktemp("readme-demo")
    port = free_port()
    env = {
        **os.environ,
        "OBRADOR_API_PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("DATABASE_URL", "NATS_URL", "OBRADOR_DATA_DIR", "OBRADOR_CONFIG"):
        env.pop(name, None)
    demo = subprocess.Popen(
        [sys.executable, "-m", "deploy.cli", "demo"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert demo.stdout is not None
        for line in demo.stdout:
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(240), "".join(lines)
        _wait_for_api(port)
        yield DemoNode(folder, port, env, lines)
    finally:
        demo.terminate()
        code = demo.wait(60)
        reader.join(10)
    assert code == 0, "".join(lines)  # SIGTERM stops the node and its servers cleanly
    assert "Traceback" not in "".join(lines)


@pytest.mark.slow
def test_demo_serves_the_dashboard_and_the_api_with_its_key(demo_node: DemoNode) -> None:
    from deploy.demo import last_day, plan_day, real_sales

    sales = real_sales()
    expected = sum(s.units for s in sales)
    key = re.search(r"Bearer (obrkey_\S+)'", demo_node.text)
    assert key is not None, demo_node.text
    headers = {"Authorization": f"Bearer {key.group(1)}"}

    def items(path: str) -> list[dict[str, str]]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{demo_node.port}{path}", headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                found: list[dict[str, str]] = json.loads(response.read())["items"]
        except urllib.error.URLError:
            return []
        return found

    day = plan_day().isoformat()
    # the demo's own days (other tests of this module sell today and on the planned day)
    demo_days = f"from={min(s.day for s in sales)}&to={last_day()}"
    deadline = time.monotonic() + 60  # the projectors fill the read models in the background
    units = forecasts = planned = 0
    while time.monotonic() < deadline:
        units = sum(
            int(float(i["units"])) for i in items(f"/v1/sales/daily?{demo_days}&limit=5000")
        )
        forecasts = len(items(f"/v1/forecasts?from={day}&to={day}"))
        planned = sum(o["production_date"] == day for o in items("/v1/production-orders"))
        if (units, forecasts) == (expected, 9) and planned:
            break
        time.sleep(0.2)
    assert units == expected  # every real unit of the demo, through relay → projector → API
    # the plan for the day after the last sales day is there when the dashboard opens
    assert forecasts == 9 and planned > 0
    # and the morning after needs a person: a stockout, expiring lots, a plan to confirm
    wanted = {"stockout", "lot_expiring", "plan_unconfirmed"}
    kinds: set[str] = set()
    while time.monotonic() < deadline + 30 and not wanted <= kinds:
        kinds = {a["type"] for a in items("/v1/alerts?limit=200")}
        time.sleep(0.2)
    assert wanted <= kinds, kinds
    assert "Traceback" not in demo_node.text


@pytest.mark.slow
def test_every_readme_shell_example_runs_against_the_demo(demo_node: DemoNode) -> None:
    env = demo_node.env
    for example in shell_examples():
        script = example.replace("localhost:8000", f"localhost:{demo_node.port}")
        done = subprocess.run(
            ["bash", "-c", f"set -euo pipefail\n{script}"],
            cwd=demo_node.folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{example}\n---\n{output}"
        assert "Traceback" not in output, f"{example}\n---\n{output}"
    # what the examples sent was taken, not dead-lettered
    status = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "pos", "status", "--json"],
        cwd=demo_node.folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(status.stdout)["dead_letters"]["total"] == 0, status.stdout
    assert "Traceback" not in demo_node.text


def _wait_for_api(port: int, timeout: float = 60.0) -> None:
    """The API binds its port a moment after the banner."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
