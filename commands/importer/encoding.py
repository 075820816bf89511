"""Which text encoding a sales file is in: its byte order mark, else UTF-8, else Windows-1252.

Till exports and spreadsheets saved as CSV come in four shapes: UTF-8 (with or
without the BOM Excel writes), UTF-16 with a BOM ("Unicode text" from Excel),
and Windows-1252 / Latin-1 from older Spanish tills. The order below is fixed
and explainable, so the same file always reads the same way and a failure can
say exactly where: a statistical detector (charset-normalizer is installed) may
name cp1250 or mac_roman for a short file and cannot say which byte is wrong.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: A well-formed multi-byte UTF-8 sequence (its presence next to invalid bytes means a mix).
_UTF8_MULTIBYTE: Final = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
#: Share of NUL bytes in the head above which the file is UTF-16/32 text without a BOM.
_NUL_SHARE: Final = 0.1
_HEAD: Final = 4096


class EncodingError(ValueError):
    """The bytes are not text in the encoding tried; the message says where and what to pass."""


@dataclass(frozen=True)
class Decoded:
    data: bytes  # UTF-8, without a BOM
    encoding: str  # the encoding the file was read as


def where(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    return f"byte {offset} (line {line})"


def to_utf8(data: bytes, path: Path, encoding: str | None = None) -> Decoded:
    """The file's bytes as UTF-8; ``encoding`` None or ``"auto"`` detects it."""
    if encoding not in (None, "auto"):
        return _explicit(data, path, str(encoding))
    for bom, name in BOMS:
        if data.startswith(bom):
            text = _decode(data, path, name, hint="the byte order mark says so")
            return Decoded(text.encode(), name)
    head = data[:_HEAD]
    if head and head.count(0) / len(head) > _NUL_SHARE:
        raise EncodingError(
            f"{path}: NUL bytes from {where(data, data.index(0))}: this looks like UTF-16"
            " without a byte order mark (tried utf-8, cp1252). Save it as UTF-8, or pass"
            " --encoding utf-16-le (or utf-16-be)"
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if _UTF8_MULTIBYTE.search(data):
            raise EncodingError(
                f"{path}: not utf-8 at {where(data, exc.start)}, byte 0x{data[exc.start]:02x},"
                " but other lines are UTF-8: the file mixes encodings (tried utf-8; reading"
                " it all as cp1252 would garble the UTF-8 text). Fix that line, or pass"
                " --encoding cp1252 if the whole file is Windows-1252"
            ) from None
    else:
        return Decoded(data, "utf-8")
    try:
        return Decoded(data.decode("cp1252").encode(), "cp1252")
    except UnicodeDecodeError:  # 0x81 0x8d 0x8f 0x90 0x9d are unassigned in cp1252
        return Decoded(data.decode("latin-1").encode(), "latin-1")


def _explicit(data: bytes, path: Path, encoding: str) -> Decoded:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise EncodingError(f"--encoding {encoding!r}: not an encoding Python knows") from None
    text = _decode(data, path, encoding, hint="given with --encoding")
    if name == "utf-8":
        return Decoded(data.removeprefix(codecs.BOM_UTF8), encoding)
    return Decoded(text.encode(), encoding)


def _decode(data: bytes, path: Path, encoding: str, *, hint: str) -> str:
    try:
        return data.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"{path}: not {encoding} at {where(data, exc.start)}: {exc.reason}"
            f" (tried {encoding}, {hint}); pass --encoding with the file's encoding"
        ) from None
