"""Forecast models. Each works on a :class:`forecasting.series.Panel`."""
