"""The notifier as a node component, and its SMTP settings."""

from __future__ import annotations

import pytest

from deploy.node import components, parse_only
from deploy.settings import Settings


def test_up_runs_the_notifier_and_only_can_pick_it() -> None:
    assert "notifier" in parse_only(None)
    assert parse_only("notifier") == ["notifier"]
    built = components(["notifier"], "postgresql://x", "nats://x", Settings())
    assert [c.name for c in built] == ["notifier", "metrics"]


def test_smtp_settings_from_the_environment_password_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OBRADOR_SMTP_HOST", "mail.forn.example")
    monkeypatch.setenv("OBRADOR_SMTP_PORT", "587")
    monkeypatch.setenv("OBRADOR_SMTP_PASSWORD", "hunter2-hunter2")
    settings = Settings.load()
    assert (settings.smtp_host, settings.smtp_port) == ("mail.forn.example", 587)
    assert settings.masked()["smtp_password"] == "***"
    assert "hunter2" not in repr(settings)


def test_a_bad_smtp_port_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBRADOR_SMTP_PORT", "0")
    with pytest.raises(ValueError, match="OBRADOR_SMTP_PORT"):
        Settings.load()
