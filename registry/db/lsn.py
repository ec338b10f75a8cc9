"""WAL positions (LSNs) and the read floor of the request being served.

Read-your-writes across nodes and replicas rests on one number: the primary's WAL position after
a client's write committed. A replica that has replayed up to it shows that client its write; one
that has not must not answer that client. The position travels as PostgreSQL writes it
(`16/B374D848`: two hexadecimal halves of a 64-bit number) in a header and a cookie, and is
compared as an integer here.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass

_LSN = re.compile(r"\A([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})\Z")


PRIMARY_ONLY = 1 << 64
"""A floor past every position: no replica has it, so the primary answers."""


def parse_lsn(text: str | None) -> int | None:
    """The LSN `text` names, or None for anything else (a client's value is never trusted to be
    well formed, and a malformed one only costs it its read-your-writes)."""
    if text is None:
        return None
    match = _LSN.match(text.strip().strip('"'))
    if match is None:
        return None
    return (int(match[1], 16) << 32) | int(match[2], 16)


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


@dataclass
class ReadFloor:
    """What one request must read at least (`floor`, from the client) and what it committed
    (`committed`, for the response). Mutable, and shared by reference, so that a write in a task
    the handler spawned still raises the floor its later reads see."""

    floor: int = 0
    committed: int | None = None

    def wrote(self, lsn: int) -> None:
        """A transaction of this request committed at `lsn`: later reads must see it too."""
        self.committed = lsn if self.committed is None else max(self.committed, lsn)
        self.floor = max(self.floor, lsn)


CURRENT_FLOOR: ContextVar[ReadFloor | None] = ContextVar("wharf_read_floor", default=None)
"""The read floor of the request being served; None outside a request (the CLI, a service test)."""
