"""The read API (docs/api.md): ``app.create_app`` / ``app.serve_api``, ``keys.create_api_key``,
and ``cli.register`` for ``obrador api`` and ``obrador api-key``."""
