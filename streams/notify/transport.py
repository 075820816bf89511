"""Sending one message: a signed HTTP POST or an e-mail over SMTP. Never raises for the
receiver's faults: every outcome comes back as an :class:`Outcome` to record."""

from __future__ import annotations

import asyncio
import json
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from types import TracebackType
from typing import Self

import httpx

from domain.notify import Channel
from domain.notify_sign import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from streams.notify.render import email_text

#: Seconds a receiver may take to answer (webhook) or an SMTP server to accept.
SEND_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 25
    sender: str = "obrador@localhost"
    starttls: bool = False
    user: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    message_id: int
    key: str
    channel: Channel
    subject: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    http_status: int | None = None
    error: str | None = None


class Transport:
    """Opens one HTTP client for the notifier's life (``async with Transport(smtp)``)."""

    def __init__(self, smtp: SmtpConfig, timeout: float = SEND_TIMEOUT) -> None:
        self.smtp, self.timeout = smtp, timeout
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._http.aclose()

    async def send(self, out: Outgoing) -> Outcome:
        if out.channel.kind == "webhook":
            return await self._webhook(out)
        return await self._email(out)

    async def _webhook(self, out: Outgoing) -> Outcome:
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "obrador-notifier",
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: sign(out.channel.secret, stamp, out.body),
            DELIVERY_HEADER: out.key,
        }
        try:
            response = await self._http.post(out.channel.target, content=out.body, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= response.status_code < 300:
            return Outcome(True, response.status_code)
        return Outcome(False, response.status_code, f"HTTP {response.status_code}")

    async def _email(self, out: Outgoing) -> Outcome:
        mail = EmailMessage()
        mail["From"] = self.smtp.sender
        mail["To"] = out.channel.target
        mail["Subject"] = out.subject
        mail["Message-ID"] = make_msgid(idstring=str(out.message_id))
        mail["X-Obrador-Delivery"] = out.key
        mail.set_content(email_text(json.loads(out.body)))
        try:
            await asyncio.to_thread(self._smtp_send, mail)
        except (smtplib.SMTPException, OSError) as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
        return Outcome(True)

    def _smtp_send(self, mail: EmailMessage) -> None:
        with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=self.timeout) as smtp:
            if self.smtp.starttls:
                smtp.starttls()
            if self.smtp.user:
                smtp.login(self.smtp.user, self.smtp.password or "")
            smtp.send_message(mail)
