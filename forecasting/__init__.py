"""Demand forecasting and the daily plan.

Public entry points:

* :func:`forecasting.backtest.run_backtest` — rolling-origin backtest, daily origins
* :func:`forecasting.simulate.run_simulation` — newsvendor plan vs baker's rule replay
* :func:`forecasting.api.train_series` / :func:`forecasting.api.train_panel` /
  :func:`forecasting.api.forecast` — production training and D+1..D+H quantiles
* :mod:`forecasting.plan` — pure newsvendor / baker's-rule functions
* :func:`forecasting.plot.plot_backtest` — a PNG of a backtest (the CLI lives in `deploy/cli/`)
* :mod:`forecasting.ops` — the service: registry, work queue, schedule, publish, purchasing,
  and the read port (the only module that names read-model tables)

See docs/forecasting.md.
"""
