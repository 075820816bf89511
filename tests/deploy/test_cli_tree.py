"""The shape of the command line: one tool, `--tenant` everywhere, packages never import deploy/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from deploy.cli import cli, main

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "commands", "streams", "projections", "read_api", "forecasting")


def leaves(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}".strip()
        if isinstance(command, click.Group):
            yield from leaves(command, path)
        else:
            yield path, command


def test_the_tenant_is_always_the_tenant_option_never_an_argument() -> None:
    for path, command in leaves(cli):
        for param in command.params:
            if param.name == "tenant":
                assert isinstance(param, click.Option), path
                assert param.opts == ["--tenant"], path


def test_one_forecast_group_holds_modelling_and_operations() -> None:
    forecast = cli.commands["forecast"]
    assert isinstance(forecast, click.Group)
    assert set(forecast.commands) == {
        *("backtest", "simulate", "train", "enqueue", "worker", "publish"),
        *("models", "promote", "rollback", "schedule"),
    }
    assert "forecasts" not in cli.commands


def test_every_command_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    for path, command in leaves(cli):
        assert command.help and command.help.strip(), path
        assert main([*path.split(), "--help"]) == 0


def test_no_package_imports_deploy() -> None:
    pattern = re.compile(r"^\s*(from deploy[\s.]|import deploy\b)", re.M)
    offenders = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if pattern.search(path.read_text())
    ]
    assert offenders == []


def test_the_readme_lists_every_command_as_generated() -> None:
    from deploy.cli.table import END, START, command_table

    readme = (ROOT / "README.md").read_text()
    assert START in readme and END in readme, "README.md lost its command table markers"
    current = readme[readme.index(START) : readme.index(END) + len(END)]
    assert current == command_table(cli), (
        "README.md's command table is out of date: run `obrador help-table` and paste it"
    )
    for path, command in leaves(cli):
        if not command.hidden:
            assert f"| `obrador {path}" in current, path
