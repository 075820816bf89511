"""Daily series: load a long CSV into a dense panel of store x product series.

A *panel* holds every series on one shared daily calendar as numpy matrices of
shape ``(n_series, n_days)``. Closed days are a known input, never zero demand:

* a *closure group* (by default the first series column, i.e. the store) is
  closed on a day when every one of its series sold nothing (or has no row);
* a declared closure (``declared_closures``: (group key, date) pairs) closes
  the group on that date whatever it sold.

Closed days are excluded from scoring and from training targets; ``y_open``
carries them as NaN so no model sees them as zero sales.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

#: Substrings of exogenous column names that are *observed* (known only after
#: the day, like weather); every other exogenous column is treated as known in
#: advance (holiday flags, planned promotions).
OBSERVED_HINTS: tuple[str, ...] = ("rain", "temp", "weather", "precip", "sun", "wind", "humid")


def is_observed_col(name: str) -> bool:
    """True when an exogenous column looks like an observation (weather)."""
    low = name.lower()
    return any(hint in low for hint in OBSERVED_HINTS)


@dataclass(frozen=True)
class Panel:
    """Dense daily panel. Index ``[s, t]`` = series ``s`` on day ``dates[t]``."""

    dates: npt.NDArray[np.datetime64]
    series_cols: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    y: FloatArray
    closed: BoolArray
    group: IntArray
    exog: dict[str, FloatArray] = field(default_factory=dict)
    observed: frozenset[str] = frozenset()

    @property
    def n_series(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_days(self) -> int:
        return int(self.y.shape[1])

    @property
    def y_open(self) -> FloatArray:
        """Values with closed days as NaN."""
        out = self.y.copy()
        out[self.closed] = np.nan
        return out

    def key_label(self, s: int) -> str:
        return " / ".join(f"{c}={v}" for c, v in zip(self.series_cols, self.keys[s], strict=True))

    def subset(self, rows: Sequence[int]) -> Panel:
        idx = np.asarray(rows, dtype=np.int64)
        return Panel(
            dates=self.dates,
            series_cols=self.series_cols,
            keys=tuple(self.keys[i] for i in idx),
            y=self.y[idx],
            closed=self.closed[idx],
            group=self.group[idx],
            exog={k: v[idx] for k, v in self.exog.items()},
            observed=self.observed,
        )

    def head(self, n_days: int) -> Panel:
        """The first ``n_days`` days (what was known at day ``n_days - 1``)."""
        return Panel(
            dates=self.dates[:n_days],
            series_cols=self.series_cols,
            keys=self.keys,
            y=self.y[:, :n_days],
            closed=self.closed[:, :n_days],
            group=self.group,
            exog={k: v[:, :n_days] for k, v in self.exog.items()},
            observed=self.observed,
        )


def _closure_mask(
    y: FloatArray,
    present: BoolArray,
    group: IntArray,
) -> BoolArray:
    """A group is closed on a day when all its series sold 0 or have no row."""
    sold = np.where(present, y, 0.0) > 0
    n_groups = int(group.max()) + 1 if group.size else 0
    group_open = np.zeros((n_groups, y.shape[1]), dtype=bool)
    for g in range(n_groups):
        group_open[g] = sold[group == g].any(axis=0)
    closed: BoolArray = ~group_open[group]
    return closed


#: a series that sells nothing for this many days in a row is out of season (or off
#: the assortment) on those days: closed for that series, not zero demand
ABSENCE_DAYS = 28


def absence_mask(y: FloatArray, present: BoolArray, min_run: int = ABSENCE_DAYS) -> BoolArray:
    """True on every day of a run of >= ``min_run`` days without sales of one series
    (a summer-only product in winter, a product delisted for a while)."""
    zero = ~(np.where(present, y, 0.0) > 0)
    out = np.zeros_like(zero)
    if min_run <= 0:
        return out
    n = zero.shape[1]
    for s in range(zero.shape[0]):
        row = zero[s]
        if not row.any():
            continue
        padded = np.concatenate([[False], row, [False]]).astype(np.int8)
        edges = np.flatnonzero(np.diff(padded))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            if b - a >= min_run:
                out[s, a : min(b, n)] = True
    return out


def panel_from_frame(
    df: pl.DataFrame,
    date_col: str,
    series_cols: Sequence[str],
    value_col: str,
    exog_cols: Sequence[str] = (),
    *,
    closure_group_col: str | None = None,
    declared_closures: Iterable[tuple[str, dt.date]] = (),
    observed_cols: Iterable[str] | None = None,
    absence_days: int = ABSENCE_DAYS,
) -> Panel:
    """Build a :class:`Panel` from a long frame (one row per series and day).

    ``closure_group_col`` defaults to the first series column when there are
    several (store of store x product), otherwise the whole file is one group
    (one shop). Missing (series, day) rows count as no sales. A series without
    sales for ``absence_days`` days in a row or more (out of season) is closed on
    those days (:func:`absence_mask`; 0 turns it off).
    """
    if not series_cols:
        raise ValueError("at least one series column is required")
    cols = [date_col, *series_cols, value_col, *exog_cols]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"columns not in data: {missing}")
    frame = df.select(cols)
    if frame.schema[date_col] != pl.Date:
        frame = frame.with_columns(pl.col(date_col).cast(pl.Utf8).str.to_date(strict=True))
    frame = frame.with_columns([pl.col(c).cast(pl.Utf8) for c in series_cols])
    dups = frame.select([date_col, *series_cols]).is_duplicated().sum()
    if dups:
        raise ValueError(f"{dups} duplicate (date, series) rows; aggregate first")

    start: dt.date = frame[date_col].min()  # type: ignore[assignment]
    end: dt.date = frame[date_col].max()  # type: ignore[assignment]
    n_days = (end - start).days + 1
    dates = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    keyframe = frame.select(series_cols).unique().sort(series_cols)
    keys = tuple(tuple(str(v) for v in row) for row in keyframe.iter_rows())
    key_index = {k: i for i, k in enumerate(keys)}

    row_keys = frame.select(series_cols).iter_rows()
    s_idx = np.fromiter((key_index[tuple(r)] for r in row_keys), dtype=np.int64, count=frame.height)
    t_idx = (frame[date_col].cast(pl.Int64).to_numpy() - (start - dt.date(1970, 1, 1)).days).astype(
        np.int64
    )

    y = np.zeros((len(keys), n_days), dtype=np.float64)
    present = np.zeros_like(y, dtype=bool)
    y[s_idx, t_idx] = frame[value_col].cast(pl.Float64).fill_null(0.0).to_numpy()
    present[s_idx, t_idx] = True

    exog: dict[str, FloatArray] = {}
    for c in exog_cols:
        m = np.full((len(keys), n_days), np.nan)
        m[s_idx, t_idx] = frame[c].cast(pl.Float64).to_numpy()
        exog[c] = m

    if closure_group_col is None and len(series_cols) > 1:
        closure_group_col = series_cols[0]
    if closure_group_col is not None:
        pos = list(series_cols).index(closure_group_col)
        gkeys = sorted({k[pos] for k in keys})
        gindex = {g: i for i, g in enumerate(gkeys)}
        group = np.array([gindex[k[pos]] for k in keys], dtype=np.int64)
    else:
        gindex = {"*": 0}
        group = np.zeros(len(keys), dtype=np.int64)

    closed = _closure_mask(y, present, group) | absence_mask(y, present, absence_days)
    for gkey, day in declared_closures:
        t = (day - start).days
        if 0 <= t < n_days and str(gkey) in gindex:
            closed[group == gindex[str(gkey)], t] = True

    obs = (
        {c for c in exog_cols if is_observed_col(c)}
        if observed_cols is None
        else set(observed_cols)
    )
    return Panel(
        dates=dates,
        series_cols=tuple(series_cols),
        keys=keys,
        y=y,
        closed=closed,
        group=group,
        exog=exog,
        observed=frozenset(obs),
    )


def load_panel(
    csv_path: str | Path,
    date_col: str,
    series_cols: Sequence[str],
    value_col: str,
    exog_cols: Sequence[str] = (),
    **kwargs: object,
) -> Panel:
    """Load a daily CSV (polars) into a :class:`Panel`. See :func:`panel_from_frame`."""
    df = pl.read_csv(csv_path, try_parse_dates=True, infer_schema_length=10_000)
    return panel_from_frame(df, date_col, series_cols, value_col, exog_cols, **kwargs)  # type: ignore[arg-type]


def series_frames(panel: Panel) -> dict[tuple[str, ...], pl.DataFrame]:
    """One daily frame per series: date, y, closed and the exogenous columns."""
    out: dict[tuple[str, ...], pl.DataFrame] = {}
    for s, key in enumerate(panel.keys):
        out[key] = series_frame(panel, s)
    return out


def series_frame(panel: Panel, s: int) -> pl.DataFrame:
    cols: dict[str, object] = {
        "date": pl.Series("date", panel.dates.astype("datetime64[D]")).cast(pl.Date),
        "y": panel.y[s],
        "closed": panel.closed[s],
    }
    for k, v in panel.exog.items():
        cols[k] = v[s]
    return pl.DataFrame(cols)


def panel_from_series_frame(
    frame: pl.DataFrame, key: tuple[str, ...] = ("series",), observed: Iterable[str] = ()
) -> Panel:
    """Inverse of :func:`series_frame` for one series (columns date, y[, closed], exog…)."""
    frame = frame.sort("date")
    start: dt.date = frame["date"].min()  # type: ignore[assignment]
    end: dt.date = frame["date"].max()  # type: ignore[assignment]
    n_days = (end - start).days + 1
    dates = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    t_idx = np.array([(d - start).days for d in frame["date"].to_list()], dtype=np.int64)
    y = np.zeros((1, n_days))
    y[0, t_idx] = frame["y"].cast(pl.Float64).fill_null(0.0).to_numpy()
    closed = np.ones((1, n_days), dtype=bool)  # a missing day is a day without sales
    if "closed" in frame.columns:
        closed[0, t_idx] = frame["closed"].cast(pl.Boolean).to_numpy()
    else:
        closed[0, t_idx] = y[0, t_idx] <= 0
    exog: dict[str, FloatArray] = {}
    for c in frame.columns:
        if c in ("date", "y", "closed"):
            continue
        m = np.full((1, n_days), np.nan)
        m[0, t_idx] = frame[c].cast(pl.Float64).to_numpy()
        exog[c] = m
    return Panel(
        dates=dates,
        series_cols=tuple(f"key{i}" for i in range(len(key))),
        keys=(key,),
        y=y,
        closed=closed,
        group=np.zeros(1, dtype=np.int64),
        exog=exog,
        observed=frozenset(observed) | {c for c in exog if is_observed_col(c)},
    )
