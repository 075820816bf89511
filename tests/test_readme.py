"""Every shell example of the README runs as written against a running `obrador demo`.

The examples are the ```sh blocks of README.md, run in order with bash (`set -e`,
`pipefail`) from a folder where the demo keeps its data in `./.obrador`, as a user
who typed `make demo` in their clone would. Only the API port differs (a free one
instead of 8000: tests never depend on a fixed port).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
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


@pytest.mark.slow
def test_every_readme_shell_example_runs_against_the_demo(tmp_path: Path) -> None:
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
        cwd=tmp_path,
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
        for example in shell_examples():
            script = example.replace("localhost:8000", f"localhost:{port}")
            done = subprocess.run(
                ["bash", "-c", f"set -euo pipefail\n{script}"],
                cwd=tmp_path,
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
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert json.loads(status.stdout)["dead_letters"]["total"] == 0, status.stdout
    finally:
        demo.terminate()
        demo.wait(60)
        reader.join(10)
    assert "Traceback" not in "".join(lines)


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
