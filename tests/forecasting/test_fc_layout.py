"""Modelling is pure; the service alone does I/O; one read port alone names read-model tables."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "forecasting"
#: what the pure modelling may not reach: the service, the servers, the write side
IO_MODULES = ("forecasting.ops", "psycopg", "nats", "faststream", "commands", "streams", "deploy")


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_modelling_modules_do_no_io() -> None:
    pure = [p for p in PACKAGE.rglob("*.py") if "ops" not in p.relative_to(PACKAGE).parts]
    assert len(pure) >= 10
    offenders = {
        str(p.relative_to(PACKAGE)): sorted(
            m for m in imported_modules(p) if m.startswith(IO_MODULES)
        )
        for p in pure
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_read_port_names_read_model_tables() -> None:
    naming = sorted(
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if re.search(r"\brm_[a-z_]+", p.read_text())
    )
    assert naming == ["ops/readport.py"]
