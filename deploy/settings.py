"""Settings from the environment: where the database, the broker and the data live."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    nats_url: str | None
    data_dir: Path

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            nats_url=os.environ.get("NATS_URL") or None,
            data_dir=Path(os.environ.get("OBRADOR_DATA_DIR") or ".obrador").absolute(),
        )
