"""Logging: one shape for every line; an idle healthy node logs no ERROR and no traceback.

The idle node is the ``obrador up`` run that tests/deploy/test_cli.py also reads
(the ``idle_node`` fixture: one boot of a whole node instead of two).
"""

from __future__ import annotations

import io
import json
import logging

import pytest

from deploy import logs
from tests.deploy.node_run import NodeRun


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
def test_an_idle_node_logs_no_error_and_no_traceback(idle_node: NodeRun) -> None:
    text = idle_node.text
    assert idle_node.ready, text
    assert idle_node.returncode == 0, text
    assert "Traceback" not in text, text
    records = [json.loads(line) for line in idle_node.lines if line.startswith("{")]
    assert records, text  # up logs, as JSON lines here
    assert [r for r in records if r["level"] in ("ERROR", "CRITICAL")] == [], text
    restarts = [line for line in idle_node.idle if "is being executed" in line]  # FastStream
    assert restarts == [], text
