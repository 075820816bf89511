"""Pure pieces of the POS edge: the JSON depth scan and dead letters that always fit."""

from __future__ import annotations

import hashlib

import pytest

from commands.pos.deadletter import (
    H_DLQ_HEADERS_DROPPED,
    H_DLQ_SHA256,
    H_DLQ_SIZE,
    H_DLQ_TRUNCATED,
    Refusal,
    dead_letter,
)
from commands.pos.schema import (
    H_TOKEN,
    MessageTooDeep,
    MessageTooLarge,
    check_size_and_depth,
    json_depth,
)
from domain.limits import DLQ_BODY_BYTES, MAX_JSON_DEPTH, MAX_MESSAGE_BYTES

REFUSAL = Refusal("$", "message_too_large", "too large\nreally")


class TestJsonDepth:
    @pytest.mark.parametrize(
        ("raw", "depth"),
        [
            (b"{}", 1),
            (b'{"lines": [{"sku": "a"}]}', 3),
            (b'{"a": "[[[[{{{{"}', 1),  # brackets inside strings do not count
            (b'{"a": "\\"[[[", "b": [[]]}', 3),  # nor after an escaped quote
            (b'{"a": "\\\\", "b": [[]]}', 3),  # an escaped backslash ends before the quote
            (b"123", 0),
        ],
    )
    def test_counts_nesting_outside_strings(self, raw: bytes, depth: int) -> None:
        assert json_depth(raw) == depth

    def test_too_deep_and_too_large_are_refused_before_decoding(self) -> None:
        with pytest.raises(MessageTooDeep):
            check_size_and_depth(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
        check_size_and_depth(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
        with pytest.raises(MessageTooLarge):
            check_size_and_depth(b" " * (MAX_MESSAGE_BYTES + 1))


class TestDeadLetter:
    @pytest.mark.parametrize("max_payload", [1024 * 1024, 64 * 1024, 20 * 1024])
    @pytest.mark.parametrize(
        "size", [0, 100, DLQ_BODY_BYTES + 1, MAX_MESSAGE_BYTES + 1, 1024 * 1024]
    )
    def test_always_fits_under_the_brokers_max_payload(self, max_payload: int, size: int) -> None:
        body = b"x" * size
        huge_headers = {f"X-{i}": "v" * 500 for i in range(200)} | {H_TOKEN: "secret"}
        letter = dead_letter(
            huge_headers, body, REFUSAL, subject="pos.t.s.sales", seq=7, max_payload=max_payload
        )
        assert letter.size < max_payload
        assert letter.headers[H_DLQ_SIZE] == str(size)
        assert letter.headers[H_DLQ_SHA256] == hashlib.sha256(body).hexdigest()
        assert H_TOKEN not in letter.headers
        assert int(letter.headers[H_DLQ_HEADERS_DROPPED]) > 0
        assert body.startswith(letter.body)

    def test_a_small_body_is_kept_whole_and_not_marked_truncated(self) -> None:
        letter = dead_letter(
            {"Trace": "abc"}, b"{}", REFUSAL, subject="s", seq=None, max_payload=1024 * 1024
        )
        assert letter.body == b"{}" and H_DLQ_TRUNCATED not in letter.headers
        assert letter.headers["Trace"] == "abc"
        assert "\n" not in letter.headers["Obrador-Dlq-Reason"]

    def test_a_body_over_the_size_limit_keeps_its_first_bytes(self) -> None:
        body = bytes(range(256)) * (MAX_MESSAGE_BYTES // 256 + 1)
        letter = dead_letter({}, body, REFUSAL, subject="s", seq=1, max_payload=1024 * 1024)
        assert letter.body == body[:DLQ_BODY_BYTES]
        assert letter.headers[H_DLQ_TRUNCATED] == "true"
