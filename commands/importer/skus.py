"""Product names in a sales file -> SKUs: kept if already one, else a mapping or a slug.

A till export often names products ("Pan de Molde", "Café & Croissant") where a
SKU is expected (letters, digits, ``_ . : @ -``, at most 128). Each name is
mapped on its own, so the same name gives the same SKU in every file:

1. an explicit mapping (``products`` in the mapping file, ``--sku NAME=SKU``) wins;
2. a name that is already a valid SKU is kept as it is;
3. anything else becomes its slug: accents dropped, lower case, every run of
   other characters one ``-`` ("Café & Croissant" -> ``cafe-croissant``).

Two different names that end up as the same SKU without an explicit mapping
saying so are an error naming both (a slug must never merge two products).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

SKU: Final = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
MAX_SKU: Final = 128


@dataclass
class SkuMap:
    #: names that are not SKUs themselves -> the SKU used, and how ("mapping" or "slug")
    skus: dict[str, str] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    #: names that cannot be imported -> why
    errors: dict[str, str] = field(default_factory=dict)


def slug(name: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_SKU].rstrip("-")


def map_products(names: Iterable[str], explicit: Mapping[str, str]) -> SkuMap:
    result = SkuMap()
    chosen: dict[str, str] = {}
    for name in names:
        if name in explicit:
            sku, how = explicit[name], "mapping"
            if not SKU.match(sku):
                result.errors[name] = f"mapped to {sku!r}, which is not a SKU"
                continue
        elif SKU.match(name):
            sku, how = name, "kept"
        else:
            sku, how = slug(name), "slug"
            if not sku:
                result.errors[name] = (
                    "not a SKU and no letters or digits to make one from: map it"
                    " (products in the mapping file, or --sku NAME=SKU)"
                )
                continue
        chosen[name] = sku
        if how != "kept":
            result.skus[name], result.how[name] = sku, how
    by_sku: dict[str, list[str]] = {}
    for name, sku in chosen.items():
        by_sku.setdefault(sku, []).append(name)
    for sku, group in by_sku.items():
        guessed = [n for n in group if n not in explicit]
        if len(group) > 1 and guessed and any(result.how.get(n) == "slug" for n in group):
            both = " and ".join(repr(n) for n in sorted(group))
            for name in guessed:
                result.errors[name] = (
                    f"{both} would both be SKU {sku!r}: map them (products in the mapping"
                    " file, or --sku NAME=SKU)"
                )
                result.skus.pop(name, None)
    return result
