"""Which read models exist: the project's own, plus any named in ``OBRADOR_EXTRA_MODELS``.

``OBRADOR_EXTRA_MODELS=package.module:ATTR`` (comma-separated) adds models from
elsewhere — tests use it to run a small model in real projector processes.
``ATTR`` is a ReadModel instance or a sequence of them.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence

from projections.model import ReadModel


def all_models() -> list[ReadModel]:
    models: list[ReadModel] = []
    try:
        from projections.models import ALL_MODELS  # noqa: PLC0415 — built by its own issue

        models.extend(ALL_MODELS)
    except ImportError:
        pass
    for spec in filter(None, os.environ.get("OBRADOR_EXTRA_MODELS", "").split(",")):
        module, _, attr = spec.strip().partition(":")
        found = getattr(importlib.import_module(module), attr)
        models.extend(found if isinstance(found, Sequence) else [found])
    return models


def model_named(name: str) -> ReadModel:
    for model in all_models():
        if model.name == name:
            return model
    known = ", ".join(m.name for m in all_models()) or "none"
    raise SystemExit(f"no read model named {name!r} (known: {known})")


def select(names: str | None) -> list[ReadModel]:
    if not names:
        return all_models()
    return [model_named(n.strip()) for n in names.split(",") if n.strip()]
