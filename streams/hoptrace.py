"""Per-hop timestamps of the live path, for the freshness benchmark.

The relay and the projector each take an optional ``HopTrace``; when given,
they append one JSON line per batch to its file with the wall-clock time
(``time.time()``, comparable between processes of one machine) at which the
batch passed a hop:

- relay ``read``: events ``first``..``last`` came back from ``read_all``;
- relay ``acked``: JetStream acknowledged every publish up to ``last``;
- projector ``fetched``: partition ``partition`` received a batch up to
  ``last`` (``stored`` = JetStream's own time of storing that last message);
- projector ``committed``: the batch's transaction (rows + checkpoint
  ``last``) committed.

Off by default: nothing is written unless a trace is passed in.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, Any


class HopTrace:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._out: IO[str] = path.open("a", buffering=1)  # one line, one write

    def record(self, hop: str, **fields: Any) -> None:
        self._out.write(json.dumps({"hop": hop, "t": time.time(), **fields}) + "\n")

    def close(self) -> None:
        self._out.close()


def read_trace(path: Path) -> list[dict[str, Any]]:
    """The records of a trace file (a line cut short by a kill is skipped)."""
    records: list[dict[str, Any]] = []
    if not path.exists():
        return records
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
