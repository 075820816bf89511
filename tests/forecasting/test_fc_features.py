"""Holiday features per region, bridges, closures; the ddop flags are German (BW/BY)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from forecasting.features import (
    FileWeatherSource,
    calendar_features,
    calendar_for_region,
    closure_features,
    holiday_flags,
)
from forecasting.series import Panel


def _dates(start: str, end: str) -> np.ndarray:
    return np.arange(np.datetime64(start), np.datetime64(end) + 1)


def _at(dates: np.ndarray, values: np.ndarray, iso: str) -> float:
    return float(values[int(np.flatnonzero(dates == np.datetime64(iso))[0])])


def test_spanish_regions_differ() -> None:
    d = _dates("2024-01-01", "2024-12-31")
    md = holiday_flags(d, "ES", "MD")
    ct = holiday_flags(d, "ES", "CT")
    an = holiday_flags(d, "ES", "AN")
    # national: 12 October everywhere
    assert _at(d, md, "2024-10-12") == _at(d, ct, "2024-10-12") == _at(d, an, "2024-10-12") == 1
    # 2 May: Comunidad de Madrid only; 11 September: Diada (Catalonia); 28 Feb: Andalucía
    assert (_at(d, md, "2024-05-02"), _at(d, ct, "2024-05-02")) == (1, 0)
    assert (_at(d, ct, "2024-09-11"), _at(d, md, "2024-09-11")) == (1, 0)
    assert (_at(d, an, "2024-02-28"), _at(d, md, "2024-02-28")) == (1, 0)


def test_bridge_and_days_around_holidays() -> None:
    d = _dates("2024-08-01", "2024-08-31")
    cal = calendar_for_region(d, "ES", "MD")
    # Thu 15 Aug 2024 (Asunción) -> Fri 16 is a bridge day, Wed 14 the day before
    assert _at(d, cal.holiday, "2024-08-15") == 1
    assert _at(d, cal.bridge, "2024-08-16") == 1
    assert _at(d, cal.before_holiday, "2024-08-14") == 1
    assert _at(d, cal.after_holiday, "2024-08-16") == 1
    assert _at(d, cal.days_to_holiday, "2024-08-12") == 3
    assert _at(d, cal.bridge, "2024-08-09") == 0


def test_monday_bridge_before_tuesday_holiday() -> None:
    d = _dates("2026-01-01", "2026-01-31")
    hol = np.zeros(len(d))
    hol[int(np.flatnonzero(d == np.datetime64("2026-01-06"))[0])] = 1  # Tue 6 Jan, Reyes
    cal = calendar_features(d, hol)
    assert _at(d, cal.bridge, "2026-01-05") == 1
    assert cal.bridge.sum() == 1


def test_ddop_flags_are_the_german_calendar(ddop_frame: pl.DataFrame) -> None:
    store = ddop_frame.filter((pl.col("store") == 2) & (pl.col("product") == 101))
    dates = store["date"].to_numpy().astype("datetime64[D]")
    flags = store["is_holiday"].to_numpy().astype(float)
    for subdiv in ("BW", "BY"):
        de = holiday_flags(dates, "DE", subdiv)
        assert (flags[de == 1] == 1).all()  # every public holiday is flagged in the file
    es = holiday_flags(dates, "ES", "MD")
    assert not (flags[es == 1] == 1).all()  # and it is not the Spanish calendar


def test_closure_features_shift() -> None:
    closed = np.array([[False, True, False, False]])
    f = closure_features(closed)
    assert f["closed_next"][0].tolist() == [1, 0, 0, 0]
    assert f["closed_prev"][0].tolist() == [0, 0, 1, 0]


def test_file_weather_source_is_honest_unless_oracle(tmp_path: object) -> None:
    frame = pl.DataFrame(
        {
            "date": [dt.date(2024, 5, 1), dt.date(2024, 5, 2), dt.date(2024, 5, 3)],
            "location": ["MAD"] * 3,
            "temperature": [18.0, 25.0, 30.0],
        }
    )
    honest = FileWeatherSource.from_frame(frame, "date", "location")
    oracle = FileWeatherSource.from_frame(frame, "date", "location", oracle=True)
    origin, day = dt.date(2024, 5, 1), dt.date(2024, 5, 3)
    assert honest.known_at("MAD", origin, day, ["temperature"])["temperature"] == 18.0
    assert oracle.known_at("MAD", origin, day, ["temperature"])["temperature"] == 30.0
    assert np.isnan(honest.known_at("BCN", origin, day, ["temperature"])["temperature"])


def test_each_store_gets_its_own_region(ddop_sample: Panel) -> None:
    from forecasting.models.gbm import GbmConfig, HolidaySpec, PanelFeatures

    spec = HolidaySpec(country="ES", subdiv="MD", regions=(("2", "ES", "CT"),))
    flags = spec.flags(ddop_sample)
    d = ddop_sample.dates
    diada = int(np.flatnonzero(d == np.datetime64("2018-09-11"))[0])
    madrid = int(np.flatnonzero(d == np.datetime64("2018-05-02"))[0])
    store2 = [i for i, k in enumerate(ddop_sample.keys) if k[0] == "2"]
    others = [i for i, k in enumerate(ddop_sample.keys) if k[0] != "2"]
    assert (flags[store2, diada] == 1).all() and (flags[store2, madrid] == 0).all()
    assert (flags[others, diada] == 0).all() and (flags[others, madrid] == 1).all()
    feats = PanelFeatures(ddop_sample, GbmConfig(holidays=spec))
    assert (feats.known["cal_before_holiday"][store2, diada - 1] == 1).all()
    assert (feats.known["cal_before_holiday"][others, diada - 1] == 0).all()
