"""One typed settings object: environment over file over defaults; secrets never printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.settings import Settings, SettingsError, mask_secrets

OBRADOR = [sys.executable, "-m", "deploy.cli"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OBRADOR_") or name in ("DATABASE_URL", "NATS_URL"):
            monkeypatch.delenv(name)


def test_the_environment_wins_over_the_file_which_wins_over_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "obrador.toml"
    config.write_text('api_port = 7001\napi_host = "0.0.0.0"\ndata_dir = "/srv/obrador"\n')
    monkeypatch.setenv("OBRADOR_API_PORT", "7002")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pw@db/obrador")
    settings = Settings.load(config)
    assert settings.api_port == 7002  # environment
    assert settings.api_host == "0.0.0.0" and settings.data_dir == Path("/srv/obrador")  # file
    assert settings.log_format == "auto" and settings.nats_url is None  # defaults
    assert settings.database_url == "postgresql://app:pw@db/obrador"
    monkeypatch.setenv("OBRADOR_CONFIG", str(config))
    assert Settings.load().api_host == "0.0.0.0"
    assert Settings.load(log_format="json").log_format == "json"  # the command line wins


def test_a_bad_value_names_the_variable_and_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBRADOR_API_PORT", "eighty")
    with pytest.raises(SettingsError, match=r"^OBRADOR_API_PORT: .*integer"):
        Settings.load()
    monkeypatch.setenv("OBRADOR_API_PORT", "70000")
    with pytest.raises(SettingsError, match=r"^OBRADOR_API_PORT: .*65535"):
        Settings.load()
    monkeypatch.delenv("OBRADOR_API_PORT")
    typo = tmp_path / "typo.toml"
    typo.write_text("api_prot = 1\n")
    with pytest.raises(SettingsError, match=r"^api_prot: not a setting"):
        Settings.load(typo)
    with pytest.raises(SettingsError, match="is not a file"):
        Settings.load(tmp_path / "missing.toml")


def test_tests_and_tools_still_build_settings_by_hand(tmp_path: Path) -> None:
    settings = Settings(database_url=None, nats_url=None, data_dir=tmp_path)
    assert settings.data_dir == tmp_path and settings.api_port == 8000


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://app:s3cret@db:5432/obrador", "postgresql://app:***@db:5432/obrador"),
        ("nats://tok3n@nats:4222", "nats://***@nats:4222"),
        ("host=db user=app password=s3cret dbname=o", "host=db user=app password=*** dbname=o"),
        ("postgresql://db/obrador", "postgresql://db/obrador"),
        ("postgresql://postgres@127.0.0.1:5432/o", "postgresql://postgres@127.0.0.1:5432/o"),
    ],
)
def test_secrets_are_masked(text: str, shown: str) -> None:
    assert mask_secrets(text) == shown


def test_obrador_config_prints_the_effective_settings_masked(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://app:s3cret@db/obrador",
        "OBRADOR_API_PORT": "8123",
    }
    text = subprocess.run(
        [*OBRADOR, "config"], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "s3cret" not in text and "postgresql://app:***@db/obrador" in text
    assert "OBRADOR_API_PORT" in text and "8123" in text
    shown = subprocess.run(
        [*OBRADOR, "config", "--json"], env=env, capture_output=True, timeout=60, check=True
    ).stdout
    assert json.loads(shown)["api_port"] == 8123
    bad = subprocess.run(
        [*OBRADOR, "config"],
        env={**env, "OBRADOR_API_PORT": "eighty"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [
        "Error: OBRADOR_API_PORT: Input should be a valid integer, unable to parse string as an"
        " integer (got 'eighty')"
    ]
