"""Webhook signatures: HMAC-SHA256 over ``<timestamp>.<body>`` with the channel's secret.

The receiver recomputes it from the raw body and the timestamp header, compares in
constant time and refuses old timestamps (replays). ``docs/alerts.md`` has the
receiver's side as a stdlib script.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Obrador-Signature"
TIMESTAMP_HEADER = "X-Obrador-Timestamp"
DELIVERY_HEADER = "X-Obrador-Delivery"
#: A receiver refuses a signature older (or newer) than this many seconds.
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: what the notifier puts in ``X-Obrador-Signature``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: str, signature: str, body: bytes, now: float) -> bool:
    """True when ``signature`` signs ``body`` at ``timestamp`` and the timestamp is fresh."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs(now - stamp) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature)
