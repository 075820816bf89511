"""The plain-text e-mail of a notification message (its JSON body, as the webhook gets it)."""

from __future__ import annotations

from typing import Any


def email_text(body: dict[str, Any]) -> str:
    if body.get("kind") == "digest":
        alerts = body.get("alerts", [])
        head = f"{len(alerts)} alert(s) of low or medium priority, most important first.\n"
        return head + "".join(f"\n{_alert(a)}" for a in alerts)
    return _alert(body["alert"])


def _alert(alert: dict[str, Any]) -> str:
    where = ", ".join(
        f"{name}: {alert[field]}"
        for field, name in (("store_id", "store"), ("item_id", "item"), ("order_id", "order"))
        if alert.get(field)
    )
    lines = [
        f"* {alert['title']} [{alert['severity']}, priority {alert['score']}/100]",
        f"  {alert['description']}",
        f"  What to do: {alert['action']}",
        f"  If nobody acts: {alert['consequence']}",
    ]
    if where:
        lines.append(f"  {where}")
    lines.append(f"  Alert {alert['alert_id']}, raised {alert['raised_at']}")
    return "\n".join(lines) + "\n"
