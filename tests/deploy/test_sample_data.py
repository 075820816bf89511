"""The ddop copy in the repository is the real file, and nothing reads it from elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

from deploy.sample_data import DDOP_CSV_SHA256, ddop_csv, ddop_frame, sha256_of

ROOT = Path(__file__).resolve().parents[2]


def test_the_parquet_copy_gives_back_the_original_csv_byte_for_byte(tmp_path: Path) -> None:
    path = ddop_csv(tmp_path)
    assert path.parent == tmp_path
    assert sha256_of(path) == DDOP_CSV_SHA256


def test_the_frame_has_every_store_product_and_day() -> None:
    frame = ddop_frame()
    assert frame.height == 127_575
    assert frame["store"].n_unique() == 35 and sorted(frame["product"].unique()) == [101, 109, 110]
    assert str(frame["date"].min()) == "2016-01-02" and str(frame["date"].max()) == "2019-04-30"


def test_no_code_or_test_reads_data_from_an_absolute_or_shared_path() -> None:
    pattern = re.compile(r"(?:/work/|shared/data|\.\./shared)")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in (
            "domain",
            "commands",
            "streams",
            "projections",
            "read_api",
            "forecasting",
            "deploy",
            "tests",
            "migrations",
        )
        for path in (ROOT / folder).rglob("*.py")
        if path != Path(__file__).resolve() and pattern.search(path.read_text())
    ]
    assert not offenders, offenders
