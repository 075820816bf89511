"""Logging: one shape for every line; an idle healthy node logs no ERROR and no traceback."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from deploy import logs
from deploy.embedded.process import free_port

OBRADOR = [sys.executable, "-m", "deploy.cli"]


@pytest.fixture
def restore_root() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_extra_ids_and_the_traceback(restore_root: object) -> None:
    out = io.StringIO()
    assert logs.configure("json", "INFO", stream=out) == "json"
    log = logging.getLogger("obrador.test")
    log.info("sale recorded", extra={"event_id": "e-1", "request_id": "r-9"})
    log.debug("not shown at INFO")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("projector stopped")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [entry["msg"] for entry in lines] == ["sale recorded", "projector stopped"]
    assert lines[0]["event_id"] == "e-1" and lines[0]["request_id"] == "r-9"
    assert lines[0]["level"] == "INFO" and lines[0]["logger"] == "obrador.test"
    assert "ValueError: boom" in lines[1]["exc"] and lines[1]["level"] == "ERROR"


def test_faststream_task_chatter_is_debug_detail(restore_root: object) -> None:
    out = io.StringIO()
    logs.configure("json", "INFO", stream=out)
    broker_log = logging.getLogger("obrador.pos")
    broker_log.info("callback for Task-68 is being executed...")
    broker_log.info("ticket accepted")
    assert [json.loads(line)["msg"] for line in out.getvalue().splitlines()] == ["ticket accepted"]
    logs.configure("json", "DEBUG", stream=out)
    broker_log.info("callback for Task-69 is being executed...")
    assert json.loads(out.getvalue().splitlines()[-1])["level"] == "DEBUG"


def test_auto_is_human_on_a_terminal_and_json_elsewhere(restore_root: object) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert logs.resolve_format("auto", Terminal()) == "human"
    assert logs.resolve_format("auto", io.StringIO()) == "json"
    out = Terminal()
    logs.configure("auto", "WARNING", stream=out)
    logging.getLogger("obrador.test").warning("stock low")
    assert out.getvalue().rstrip().endswith("WARNING obrador.test: stock low")


@pytest.mark.slow
def test_an_idle_node_logs_no_error_and_no_traceback(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "OBRADOR_DATA_DIR": str(tmp_path),
        "OBRADOR_API_PORT": str(free_port()),
        "OBRADOR_LOG_FORMAT": "json",
        "OBRADOR_LOG_LEVEL": "DEBUG",  # FastStream task restarts are DEBUG lines: count them
    }
    env.pop("DATABASE_URL", None)
    env.pop("NATS_URL", None)
    proc = subprocess.Popen(
        [*OBRADOR, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    idle: list[str] = []
    try:
        assert ready.wait(120), "".join(lines)
        time.sleep(15)  # idle on purpose: the pull-timeout noise came within seconds
        idle = lines[:]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        reader.join(10)
    text = "".join(lines)
    assert "Traceback" not in text, text
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records, text  # up logs, as JSON lines here
    assert [r for r in records if r["level"] in ("ERROR", "CRITICAL")] == [], text
    restarts = [line for line in idle if "is being executed" in line]  # FastStream restarts
    assert restarts == [], text
