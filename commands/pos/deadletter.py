"""What a refused POS message becomes: a dead letter that always fits in one NATS message.

The dead letter keeps the original body when it is small enough (the usual
case: fix it and publish it again), else its first ``DLQ_BODY_BYTES`` with the
original size and SHA-256, so a message just under the broker's max payload
can never produce a dead letter over it (issue 8: that closed the ingest's
connection). Original headers are copied minus the credential, within a budget.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from commands.pos.schema import H_MSG_ID, H_TOKEN
from domain.limits import DLQ_BODY_BYTES, MAX_MESSAGE_BYTES

H_DLQ_FIELD: Final = "Obrador-Dlq-Field"
H_DLQ_RULE: Final = "Obrador-Dlq-Rule"
H_DLQ_REASON: Final = "Obrador-Dlq-Reason"
H_DLQ_SUBJECT: Final = "Obrador-Dlq-Subject"
H_DLQ_SEQ: Final = "Obrador-Dlq-Stream-Seq"
H_DLQ_DEVICE: Final = "Obrador-Dlq-Device"
H_DLQ_AT: Final = "Obrador-Dlq-At"
H_DLQ_SIZE: Final = "Obrador-Dlq-Original-Size"
H_DLQ_SHA256: Final = "Obrador-Dlq-Original-Sha256"
H_DLQ_TRUNCATED: Final = "Obrador-Dlq-Truncated"
H_DLQ_HEADERS_DROPPED: Final = "Obrador-Dlq-Headers-Dropped"

#: Bytes of original headers copied onto a dead letter (names + values).
DLQ_HEADER_BYTES: Final = 4096
#: Room kept for the dead letter's own headers and the protocol framing.
_OWN_HEADROOM: Final = 4096


@dataclass(frozen=True)
class Refusal:
    """Why a message is dead-lettered: the field, a rule code, and words for people."""

    field: str
    rule: str
    reason: str


@dataclass(frozen=True)
class DeadLetter:
    headers: dict[str, str]
    body: bytes

    @property
    def size(self) -> int:
        """Bytes on the wire, roughly as NATS counts them (headers block + body)."""
        block = sum(len(k.encode()) + len(v.encode()) + 4 for k, v in self.headers.items())
        return len(self.body) + block + 12


def dead_letter(
    original: Mapping[str, str],
    body: bytes,
    refusal: Refusal,
    *,
    subject: str,
    seq: int | None,
    max_payload: int,
) -> DeadLetter:
    """The dead letter of ``body``; its ``size`` stays under ``max_payload``."""
    headers, dropped = _copied_headers(original)
    headers.update(
        {
            H_DLQ_FIELD: _header_value(refusal.field)[:200],
            H_DLQ_RULE: refusal.rule,
            H_DLQ_REASON: _header_value(refusal.reason)[:1000],
            H_DLQ_SUBJECT: _header_value(subject)[:300],
            H_DLQ_AT: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            H_DLQ_SIZE: str(len(body)),
            H_DLQ_SHA256: hashlib.sha256(body).hexdigest(),
        }
    )
    if dropped:
        headers[H_DLQ_HEADERS_DROPPED] = str(dropped)
    if seq is not None:
        headers[H_DLQ_SEQ] = str(seq)
        headers[H_MSG_ID] = f"dlq-{seq}"
    keep_whole = min(MAX_MESSAGE_BYTES, max_payload - DLQ_HEADER_BYTES - 2 * _OWN_HEADROOM)
    if len(body) > keep_whole:
        body = body[: max(0, min(DLQ_BODY_BYTES, keep_whole))]
        headers[H_DLQ_TRUNCATED] = "true"
    return DeadLetter(headers, body)


def _copied_headers(original: Mapping[str, str]) -> tuple[dict[str, str], int]:
    """The original headers without the credential, up to ``DLQ_HEADER_BYTES``."""
    copied: dict[str, str] = {}
    used = dropped = 0
    for name, value in original.items():
        if name in (H_TOKEN, H_MSG_ID) or name.startswith("Obrador-Dlq-"):
            continue
        cost = len(name.encode()) + len(value.encode()) + 4
        if used + cost > DLQ_HEADER_BYTES:
            dropped += 1
            continue
        copied[name] = value
        used += cost
    return copied, dropped


def _header_value(text: str) -> str:
    """NATS headers cannot carry line breaks or other control characters."""
    return "".join(c if c.isprintable() else " " for c in text)
