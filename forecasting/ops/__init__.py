"""The forecasting service: what runs the pure modelling against a tenant's data.

``readport`` is the only module that names read-model tables; ``registry``
keeps trained versions; ``workqueue`` spreads training over workers; ``jobs``
schedules the nightly runs; ``publish`` writes forecasts and suggested orders
as commands; ``purchasing`` turns the plan into drafted purchase orders.
"""
