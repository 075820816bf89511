"""Known-in-advance features: calendar, holidays, closures, and honest weather.

Calendar features come either from the ``holidays`` package (any country and
subdivision, e.g. ``holidays.ES(subdiv="MD")`` for Madrid) or from holiday
flags already in the data (the ddop file carries German flags). From a daily
0/1 holiday vector we derive: the day before / after a holiday, bridge days
(a working weekday squeezed between a holiday and the weekend — *puente*), and
the distance in days to the next and since the previous holiday.

Weather is observed after the fact. A :class:`WeatherSource` answers "what was
known about day *d* at origin *t*": :class:`FileWeatherSource` in honest mode
returns the last observation at or before the origin (persistence), and only a
run explicitly labelled oracle gets the observed value of the target day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import holidays as holidays_pkg
import numpy as np
import numpy.typing as npt
import polars as pl

FloatArray = npt.NDArray[np.float64]
DateArray = npt.NDArray[np.datetime64]

CAP_DAYS = 14


def weekday(dates: DateArray) -> npt.NDArray[np.int64]:
    """Monday=0 .. Sunday=6, derived from the date (never from a weekday column)."""
    out: npt.NDArray[np.int64] = ((dates.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(
        np.int64
    )
    return out


def holiday_flags(dates: DateArray, country: str, subdiv: str | None = None) -> FloatArray:
    """1.0 on public holidays of ``country``/``subdiv`` (``holidays`` package), else 0.0."""
    days = dates.astype("datetime64[D]")
    years = sorted(
        {int(str(d)[:4]) for d in (days[0], days[-1])}
        | set(range(int(str(days[0])[:4]), int(str(days[-1])[:4]) + 1))
    )
    cal = holidays_pkg.country_holidays(country, subdiv=subdiv, years=years)
    hol = {np.datetime64(d, "D") for d in cal}
    return np.array([1.0 if d in hol else 0.0 for d in days])


def holiday_names(dates: DateArray, country: str, subdiv: str | None = None) -> list[str | None]:
    days = dates.astype("datetime64[D]")
    years = list(range(int(str(days[0])[:4]), int(str(days[-1])[:4]) + 1))
    cal = holidays_pkg.country_holidays(country, subdiv=subdiv, years=years)
    return [cal.get(d.astype(dt.date)) for d in days]


@dataclass(frozen=True)
class CalendarFeatures:
    """Per-day calendar features, each an array over the dates (or series x dates)."""

    holiday: FloatArray
    before_holiday: FloatArray
    after_holiday: FloatArray
    bridge: FloatArray
    days_to_holiday: FloatArray
    days_since_holiday: FloatArray

    def as_dict(self) -> dict[str, FloatArray]:
        return {
            "holiday": self.holiday,
            "before_holiday": self.before_holiday,
            "after_holiday": self.after_holiday,
            "bridge": self.bridge,
            "days_to_holiday": self.days_to_holiday,
            "days_since_holiday": self.days_since_holiday,
        }


def _distance_forward(flag: FloatArray) -> FloatArray:
    """Days until the next flagged day (0 on it), capped at CAP_DAYS, along the last axis."""
    out = np.full(flag.shape, float(CAP_DAYS))
    nxt = np.full(flag.shape[:-1], float(CAP_DAYS))
    for j in range(flag.shape[-1] - 1, -1, -1):
        nxt = np.where(flag[..., j] > 0, 0.0, np.minimum(nxt + 1, CAP_DAYS))
        out[..., j] = nxt
    return out


def _distance_backward(flag: FloatArray) -> FloatArray:
    return _distance_forward(flag[..., ::-1])[..., ::-1].copy()


def calendar_features(dates: DateArray, holiday: FloatArray) -> CalendarFeatures:
    """Derive calendar features from a 0/1 holiday array (shape (..., n_days)).

    A *bridge day* is a Monday..Friday that is not a holiday, whose previous
    day is a holiday and next day a weekend day (Friday after a Thursday
    holiday), or whose next day is a holiday and previous day a weekend day
    (Monday before a Tuesday holiday).
    """
    hol = np.asarray(holiday, dtype=np.float64)
    wd = weekday(dates)
    weekend = (wd >= 5).astype(np.float64)
    prev_hol = np.zeros_like(hol)
    prev_hol[..., 1:] = hol[..., :-1]
    next_hol = np.zeros_like(hol)
    next_hol[..., :-1] = hol[..., 1:]
    prev_we = np.roll(weekend, 1)
    next_we = np.roll(weekend, -1)
    workday = (wd < 5) & (hol == 0)
    bridge = workday & (((prev_hol > 0) & (next_we > 0)) | ((next_hol > 0) & (prev_we > 0)))
    return CalendarFeatures(
        holiday=hol,
        before_holiday=next_hol * (1 - hol),
        after_holiday=prev_hol * (1 - hol),
        bridge=bridge.astype(np.float64),
        days_to_holiday=_distance_forward(hol),
        days_since_holiday=_distance_backward(hol),
    )


def calendar_for_region(
    dates: DateArray, country: str = "ES", subdiv: str | None = None
) -> CalendarFeatures:
    """Calendar features for one region from the ``holidays`` package."""
    return calendar_features(dates, holiday_flags(dates, country, subdiv))


def closure_features(closed: npt.NDArray[np.bool_]) -> dict[str, FloatArray]:
    """Closures are declared in advance: day before / after a closure, distance to the next one."""
    c = closed.astype(np.float64)
    prev = np.zeros_like(c)
    prev[:, 1:] = c[:, :-1]
    nxt = np.zeros_like(c)
    nxt[:, :-1] = c[:, 1:]
    return {
        "closed_prev": prev,
        "closed_next": nxt,
        "days_to_closure": _distance_forward(c),
        "days_since_closure": _distance_backward(c),
    }


# --------------------------------------------------------------------------- weather


class WeatherSource(Protocol):
    """What was known at ``origin`` about the weather of ``day`` at ``location``.

    ``variables`` e.g. ("temperature", "rain"). Returns NaN when unknown. An
    implementation must never return an observation made after ``origin``
    unless it is an oracle (``oracle`` attribute True), and every report that
    uses an oracle source must say so.
    """

    oracle: bool

    def known_at(
        self, location: str, origin: dt.date, day: dt.date, variables: Sequence[str]
    ) -> dict[str, float]: ...


class FileWeatherSource:
    """Observed daily weather from a CSV (columns: date, location, variables...).

    Honest mode (default) returns, for any future ``day``, the latest
    observation at or before ``origin`` (a persistence forecast). With
    ``oracle=True`` it returns the observation of ``day`` itself.
    """

    def __init__(
        self,
        path: str | Path,
        date_col: str = "date",
        location_col: str = "location",
        *,
        oracle: bool = False,
    ) -> None:
        self.oracle = oracle
        df = pl.read_csv(path, try_parse_dates=True)
        if df.schema[date_col] != pl.Date:
            df = df.with_columns(pl.col(date_col).cast(pl.Utf8).str.to_date())
        df = df.with_columns(pl.col(location_col).cast(pl.Utf8)).sort(date_col)
        self._by_loc: dict[str, pl.DataFrame] = {
            str(k[0]): g for k, g in df.group_by(location_col, maintain_order=True)
        }
        self._date_col = date_col

    @classmethod
    def from_frame(
        cls, df: pl.DataFrame, date_col: str, location_col: str, *, oracle: bool = False
    ) -> FileWeatherSource:
        obj = cls.__new__(cls)
        obj.oracle = oracle
        frame = df.with_columns(pl.col(location_col).cast(pl.Utf8)).sort(date_col)
        obj._by_loc = {str(k[0]): g for k, g in frame.group_by(location_col, maintain_order=True)}
        obj._date_col = date_col
        return obj

    def known_at(
        self, location: str, origin: dt.date, day: dt.date, variables: Sequence[str]
    ) -> dict[str, float]:
        frame = self._by_loc.get(location)
        nan = {v: float("nan") for v in variables}
        if frame is None:
            return nan
        when = day if self.oracle else min(origin, day)
        rows = frame.filter(pl.col(self._date_col) <= when).tail(1)
        if rows.height == 0:
            return nan
        return {v: float(rows[v][0]) if rows[v][0] is not None else float("nan") for v in variables}


def honest_observed(values: FloatArray, origins: npt.NDArray[np.int64]) -> FloatArray:
    """Panel form of the honest rule: an observed column is read at the origin index."""
    out: FloatArray = values[:, origins]
    return out
