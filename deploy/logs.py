"""Logging, configured once at the root for every command (``--log-format``, ``--log-level``).

``human``: one readable line per record (time, level, logger, message; a traceback only
when there is one). ``json``: one JSON object per line (orjson) with ``ts``, ``level``,
``logger``, ``msg``, every ``extra`` field the caller attached (``message_id`` of a
FastStream message, a request or event id…) and ``exc`` for a traceback. ``auto``: human
on a terminal, JSON otherwise. Libraries that install their own handlers (uvicorn) are
routed through the root so every line has the same shape.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from typing import Any, TextIO

import orjson

# LogRecord attributes that are not "extra" fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured copy of the message
}


class HumanFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and value not in ("", None):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (test runners and tools swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


class _TaskChatter(logging.Filter):
    """FastStream logs "callback for Task-N is being executed..." at INFO whenever one of
    its internal tasks ends, including on every clean shutdown: that is DEBUG detail."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and str(record.msg).startswith("callback for "):
            if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
                return False
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def resolve_format(log_format: str, stream: TextIO) -> str:
    if log_format != "auto":
        return log_format
    return "human" if stream.isatty() else "json"


def configure(log_format: str = "auto", level: str = "INFO", stream: TextIO | None = None) -> str:
    """Replace the root's handlers with one; return the format used (``human``/``json``)."""
    chosen = resolve_format(log_format, stream or sys.stderr)
    handler: logging.Handler = _CurrentStderr() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if chosen == "json" else HumanFormatter())
    handler.addFilter(_TaskChatter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    _uvicorn_through_the_root()
    _litestar_keeps_the_root()
    return chosen


def _uvicorn_through_the_root() -> None:
    """uvicorn configures its own handlers from ``LOGGING_CONFIG`` each time a server starts:
    empty that default (in place: ``uvicorn.Config`` holds the same dict) so its loggers
    propagate to the root instead, with the level and format chosen here."""
    try:
        from uvicorn import config as uvicorn_config
    except ImportError:  # pragma: no cover - uvicorn is a dependency
        return
    uvicorn_config.LOGGING_CONFIG.clear()
    uvicorn_config.LOGGING_CONFIG.update(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "loggers": {
                name: {"handlers": [], "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
        }
    )


_KEEP_ROOT = "_obrador_keeps_the_root"


def _litestar_keeps_the_root() -> None:
    """Litestar's default ``LoggingConfig`` replaces the root's handlers (and gives the
    ``litestar`` logger its own) when an app is built. ``read_api.create_app`` does not
    take a logging config, so its default is told here not to touch the root and to let
    its loggers propagate. (Better home: ``create_app(logging_config=...)`` — see report.)"""
    try:
        from litestar.logging.config import LoggingConfig
    except ImportError:  # pragma: no cover - litestar is a dependency
        return
    original = LoggingConfig.configure
    if getattr(original, _KEEP_ROOT, False):
        return

    def configure(self: LoggingConfig) -> Any:
        self.configure_root_logger = False
        self.loggers = {
            name: {**config, "handlers": [], "propagate": True}
            for name, config in self.loggers.items()
        }
        return original(self)

    setattr(configure, _KEEP_ROOT, True)
    LoggingConfig.configure = configure  # type: ignore[method-assign]
