"""When a series is due for retraining: the backtest's refit schedule, applied in production.

The backtest (:func:`forecasting.backtest.refit_days`) refits the pooled model every
``refit_every`` days (133), sooner while the history is short, and every
``YOUNG_REFIT_EVERY`` (28) days while it is under ``YOUNG_DAYS`` (548); training
(:func:`forecasting.api.train_panel`) fits at the same refit days, counted from
day ``MIN_TRAIN_DAYS`` of the series' data. So a stored model is out of date
exactly when one of those refit days lies after its training window and on or
before the series' last day: the backtest would already use the newer fit.
Before that day a retrain would refit the same pooled models on the same days.

Pure: the dates come from the registry and the read port (``forecasting.ops.jobs``).
"""

from __future__ import annotations

import datetime as dt

from forecasting.backtest import MIN_TRAIN_DAYS, BacktestConfig, refit_days

#: the pooled model's refit cadence of an old history (``BacktestConfig.refit_every``)
DEFAULT_REFIT_EVERY = BacktestConfig().refit_every


def refit_due(
    first: dt.date,
    last: dt.date,
    trained_through: dt.date | None,
    every: int = DEFAULT_REFIT_EVERY,
) -> bool:
    """True when a series whose data runs ``first``..``last`` needs a new training.

    ``trained_through``: the last day of the latest trained version's window (None:
    never trained, always due). Due when a refit day of :func:`refit_days` falls
    in ``(trained_through, last]`` (day numbers counted from ``first``, as
    training counts them).
    """
    if trained_through is None:
        return True
    done = (trained_through - first).days
    upto = (last - first).days
    if upto <= done:
        return False
    return any(done < day <= upto for day in refit_days(MIN_TRAIN_DAYS, upto, every))


def next_refit(
    first: dt.date, trained_through: dt.date, every: int = DEFAULT_REFIT_EVERY
) -> dt.date:
    """The first day after ``trained_through`` on which the series becomes due."""
    done = (trained_through - first).days
    horizon = max(done, 0) + max(every, MIN_TRAIN_DAYS) + 1
    later = [d for d in refit_days(MIN_TRAIN_DAYS, horizon, every) if d > done]
    return first + dt.timedelta(days=later[0] if later else horizon)


__all__ = ["DEFAULT_REFIT_EVERY", "next_refit", "refit_due"]
