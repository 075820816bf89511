"""The read API (docs/api.md): ``app.create_app`` / ``app.serve_api``, ``keys.create_api_key``
(``obrador api`` and ``obrador api-key`` live in ``deploy/cli/api.py``)."""
