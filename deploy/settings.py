"""Settings: one typed object read once per process and passed down as arguments.

Precedence, highest first: command-line options (``--log-format`` …), environment
variables, the optional TOML file named by ``--config`` or ``OBRADOR_CONFIG``, defaults.
``obrador config`` prints the effective values with secrets masked (docs: README,
"Settings"). Package code never reads these: it takes the values as arguments.
"""

from __future__ import annotations

import contextvars
import os
import re
from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

LogFormat = Literal["auto", "human", "json"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

_config_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "obrador_config_file", default=None
)


#: Settings whose whole value is a secret (printed as ``***``).
_SECRET_FIELDS = frozenset({"smtp_password"})


class SettingsError(ValueError):
    """A setting has a bad value; the message names the setting (its variable) and why."""


class Settings(BaseSettings):
    """Where the database, the broker and the data live; how the API listens; how to log."""

    model_config = SettingsConfigDict(
        env_prefix="OBRADOR_",
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
        description="PostgreSQL; unset: an embedded server in the data folder",
    )
    nats_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("NATS_URL", "nats_url"),
        description="NATS with JetStream; unset: an embedded nats-server",
    )
    data_dir: Path = Field(
        default=Path(".obrador"), description="embedded servers' data, the demo's API key"
    )
    api_host: str = Field(default="127.0.0.1", description="address the read API listens on")
    api_port: int = Field(default=8000, ge=0, le=65535, description="port of the read API")
    metrics_port: int = Field(
        default=9464,
        ge=0,
        le=65535,
        description="Prometheus /metrics of a node without the API (the API serves its own)",
    )
    smtp_host: str = Field(default="localhost", description="SMTP server of alert e-mails")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="port of the SMTP server")
    smtp_from: str = Field(
        default="obrador@localhost", description="sender address of alert e-mails"
    )
    smtp_starttls: bool = Field(default=False, description="upgrade SMTP with STARTTLS")
    smtp_user: str | None = Field(default=None, description="SMTP login (unset: none)")
    smtp_password: str | None = Field(default=None, description="SMTP password (masked)")
    log_format: LogFormat = Field(
        default="auto", description="human | json | auto (human on a terminal, else json)"
    )
    log_level: LogLevel = Field(default="INFO", description="DEBUG | INFO | WARNING | ERROR")
    day_close_at: time = Field(
        default=time(23, 30),
        description="store-local HH:MM of the automatic day close from the books (scheduler)",
    )
    expire_at: time = Field(
        default=time(0, 5),
        description="store-local HH:MM the scheduler takes expired lots out of the books",
    )

    @field_validator("database_url", "nats_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return value or None

    @field_validator("data_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_file.get()
        if path is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, path))

    @classmethod
    def load(cls, config: Path | None = None, **overrides: Any) -> Settings:
        """The environment (+ the TOML file of ``config`` / ``OBRADOR_CONFIG``) + ``overrides``.

        Raises :class:`SettingsError` with one line naming the setting and the reason.
        """
        named = config or (
            Path(os.environ["OBRADOR_CONFIG"]) if os.environ.get("OBRADOR_CONFIG") else None
        )
        if named is not None and not named.is_file():
            raise SettingsError(f"OBRADOR_CONFIG / --config: {named} is not a file")
        token = _config_file.set(named)
        try:
            return cls(**{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as exc:
            raise SettingsError(_first_error(exc)) from None
        finally:
            _config_file.reset(token)

    @classmethod
    def from_env(cls) -> Settings:
        return cls.load()

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            if name in _SECRET_FIELDS and value:
                yield name, "***"
            else:
                yield name, mask_secrets(value) if isinstance(value, str) else value

    def masked(self) -> dict[str, Any]:
        """Every setting, passwords and tokens in URLs replaced by ``***`` (for printing)."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if name in _SECRET_FIELDS and value:
                out[name] = "***"
            elif isinstance(value, str):
                out[name] = mask_secrets(value)
            else:
                out[name] = str(value) if isinstance(value, Path | time) else value
        return out


def env_name(field: str) -> str:
    if field in ("database_url", "nats_url"):
        return field.upper()
    return f"OBRADOR_{field.upper()}"


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else "settings"
    name = field if field.isupper() else env_name(field)
    if error["type"] == "extra_forbidden":
        return f"{field}: not a setting (known: {', '.join(Settings.model_fields)})"
    return f"{name}: {error['msg']} (got {error.get('input')!r})"


_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<userinfo>[^@/\s]+)@", re.I)
_KEYWORD_SECRET = re.compile(r"\b(?P<key>password|token|pass)\s*=\s*(?P<value>'[^']*'|\S+)", re.I)


def mask_secrets(text: str) -> str:
    """``postgresql://user:pw@host`` -> ``postgresql://user:***@host``; ``password=x`` ->
    ``password=***``; a NATS token (``nats://tok@host``) -> ``nats://***@host``; a user
    name alone (``postgresql://postgres@host``) is not a secret and stays."""

    def userinfo(match: re.Match[str]) -> str:
        scheme = match["scheme"]
        user, sep, _ = match["userinfo"].partition(":")
        if sep:
            return f"{scheme}{user}:***@"
        token = scheme.lower().startswith(("nats", "tls", "ws"))  # NATS: a bare token
        return f"{scheme}***@" if token else match[0]

    text = _URL_USERINFO.sub(userinfo, text)
    return _KEYWORD_SECRET.sub(lambda m: f"{m['key']}=***", text)
