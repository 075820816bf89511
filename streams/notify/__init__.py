"""The notifier: new and escalated alerts to each tenant's webhooks and e-mail recipients.

The outbound twin of the relay (ADR 0010): it reads the alerts read model and
the tenants' ``notify-settings`` streams, promises one delivery per alert ×
channel × escalation level (``plan``), turns due promises into messages — one
per urgent/high alert, one daily digest of the rest (``compose``) — and sends
them with retries, recording every attempt (``send``, ``transport``).
``worker.Notifier`` runs the loop; ``obrador up`` runs it as ``notifier``.
"""
