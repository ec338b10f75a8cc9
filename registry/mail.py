"""Outgoing mail. Wharf has no SMTP of its own yet: the default mailer writes each message to the
`wharf.mail` log (like Django's console backend), which is where an operator finds a user's
verification code. A real transport implements the same one-method protocol."""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger("wharf.mail")


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...


class LogMailer:
    async def send(self, to: str, subject: str, body: str) -> None:
        log.info("mail to %s: %s\n%s", to, subject, body)
