"""A picture of a backtest: actual sales vs the D+1 forecasts of a few big series, with
obrador's calibrated 80 % band (PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_backtest(raw: Any, path: Path, n_series: int = 4) -> Path:
    """PNG: actual vs D+1 forecasts over the scored days for a few big series."""
    import matplotlib  # noqa: PLC0415  (only when plotting)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    panel = raw.panel
    h = raw.config.horizons[0]
    oi, td = raw.scored(h)
    k = 0
    y = panel.y_open[:, td]
    order = np.argsort(-np.nan_to_num(y, nan=0.0).sum(axis=1))[:n_series]
    fig, axes = plt.subplots(len(order), 1, figsize=(11, 2.6 * len(order)), sharex=True)
    axes_list = list(np.atleast_1d(axes))
    dates = panel.dates[td].astype("datetime64[D]").astype(object)
    for ax, s in zip(axes_list, order, strict=True):
        band = raw.quantiles.get("obrador") if getattr(raw, "quantiles", None) else None
        if band is not None:
            ax.fill_between(
                dates,
                band[s, oi, k, 0],
                band[s, oi, k, -1],
                color="tab:orange",
                alpha=0.18,
                lw=0,
                label="obrador 80 % band (10-90 %)",
            )
        ax.plot(dates, y[s], color="black", lw=1.2, label="actual (closed days blank)")
        ax.plot(
            dates,
            raw.forecasts["obrador"][s, oi, k],
            color="tab:orange",
            lw=1,
            label=f"obrador D+{h}",
        )
        ax.plot(
            dates,
            raw.forecasts["seasonal_naive"][s, oi, k],
            color="tab:blue",
            lw=0.7,
            alpha=0.6,
            label="seasonal naive",
        )
        ax.set_title(panel.key_label(int(s)), fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
