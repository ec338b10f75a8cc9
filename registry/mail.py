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
        # The recipient and subject are quoted (repr) so that no character of theirs can end the
        # line and forge another; the API also refuses addresses with spaces or control characters.
        log.info("mail to %r: %r\n%s", to, subject, body)
