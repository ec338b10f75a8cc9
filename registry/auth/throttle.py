"""Throttling of failed sign-ins and token uses, and per-address limits, shared by every node.

A limit holds across every process on every host: the sliding windows live in PostgreSQL, one
row per key of each throttle (`failure_windows`, migration 9, registry.store.failure_windows),
holding the database clock's stamps of the key's recent attempts. The database's clock is the one
clock of all nodes, and the primary the one place they count (the table is never read on a
replica: it is UNLOGGED, so a crash empties it, which forgets recent failures and is acceptable).

An attempt is counted *before* its credentials are checked (`FailureWindows.attempt`) and
forgiven when they prove right (`forgive`). Counting is one statement per request whatever its
number of budgets: an upsert that appends a stamp only while the key has fewer than the limit in
the window. Its row lock serialises concurrent attempts on one key from any connection, so a
burst of concurrent wrong passwords, spread over any number of nodes, gets exactly the limit
through. A request charged to several budgets is counted against all or none: a refusal by one
takes back what the others counted, and answers with the first refusing budget's message.

Bounded: a row keeps only the stamps within its window (dropped as the row is written) and at
most the limit of them; a key's row expires one window after its newest stamp, and every counting
statement deletes up to two expired rows per key it charges (skipping locked ones), so expired
rows shrink while attempts are made and the table holds about the keys active in one window.
A key that is long or not printable (a raw username can be anything a header holds) is stored as
its sha256, which the primary key's index can hold.

Only failures are counted, never successes: a valid token always works (it is looked up first;
see registry.auth.authentication). The same windows also count events that are limited whether
they succeed or not (sign-ups, verification mails, survey answers: `RateLimits`).

Keys are made by the callers, from one folding of names (registry.names) and one reading of the
client's address (registry.client_address).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from datetime import datetime

import asyncpg

from registry.client_address import address_key
from registry.db.database import Database
from registry.domain.errors import TooManyRequests
from registry.domain.record import Record
from registry.store import failure_windows as window_store

log = logging.getLogger("wharf.throttle")

_MAX_PLAIN_KEY = 200  # characters; longer keys are stored as their digest


class FailureThrottle(Record):
    """At most `limit` counted attempts per key within `window` seconds. `name` tells its keys
    apart from other throttles' in the shared table: every node must give a throttle the same."""

    name: str
    limit: int
    window: float
    message: str = "Too many failed attempts; try again later."

    def scaled(self, factor: int) -> FailureThrottle:
        """A sibling throttle on the same window allowing `factor` times the failures."""
        return dataclasses.replace(self, name=f"{self.name}*{factor}", limit=self.limit * factor)


class Counted(Record):
    """Attempts that `FailureWindows.attempt` counted together, as `forgive` takes them back."""

    stamps: tuple[tuple[str, str, datetime], ...]  # (throttle, stored key, stamp)


def _stored_key(key: str) -> str:
    if len(key) <= _MAX_PLAIN_KEY and key.isprintable():
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class FailureWindows:
    """The throttles' windows in the database. Counting goes to the primary on one connection
    without an explicit transaction: it is a single statement, atomic by itself, so BEGIN and
    COMMIT would only add two round trips to the path an attacker drives."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def attempt(self, *budgets: tuple[FailureThrottle, str]) -> Counted:
        """Count one attempt against each (throttle, key), all or none: 429 with Retry-After
        (from the oldest attempt in the refusing key's window) when any has used up its limit."""
        charges = [window_store.Charge(t.name, _stored_key(key), t.limit, t.window) for t, key in budgets]
        if len({(c.throttle, c.key) for c in charges}) != len(charges):
            raise ValueError("each budget of one attempt names a different key")
        async with self._db.pool.acquire() as conn:
            outcomes = await window_store.count_attempts(conn, charges)
        counted = Counted(
            tuple((c.throttle, c.key, o.stamp) for c, o in zip(charges, outcomes, strict=True) if o.stamp is not None)
        )
        refused = [(throttle, o) for (throttle, _), o in zip(budgets, outcomes, strict=True) if o.stamp is None]
        if refused:
            await self.forgive(counted)
            throttle, outcome = refused[0]
            raise TooManyRequests(throttle.message, retry_after=outcome.retry_after or 1)
        return counted

    async def forgive(self, counted: Counted) -> None:
        """Take back attempts (their credentials were right after all). Best effort: when the
        database cannot be reached, the attempts stay counted (each costs its key one place in its
        window) and the failure that is already on its way is not hidden by this one."""
        if not counted.stamps:
            return
        try:
            async with self._db.pool.acquire() as conn:
                await window_store.forgive_attempts(conn, counted.stamps)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            log.warning("counted attempts not forgiven", exc_info=True)


class RateLimits(Record):
    """Per-client-address limits on what costs the site something even when it succeeds: every
    attempt counts (429 with Retry-After past the limit). `client` is `request.remote`, which
    registry.client_address resolved through trusted proxies; an IPv6 client counts as its /64."""

    windows: FailureWindows
    signups: FailureThrottle
    mails: FailureThrottle  # keyed by client address and by recipient address
    surveys: FailureThrottle

    async def sign_up(self, client: str | None) -> None:
        await self.windows.attempt((self.signups, "addr:" + address_key(client)))

    async def verification_mail(self, client: str | None, recipient: str) -> None:
        """A mail to `recipient`: counted per sender address and per recipient (no mail bombing of
        one inbox from many addresses), both or neither."""
        await self.windows.attempt((self.mails, "addr:" + address_key(client)), (self.mails, "to:" + recipient.lower()))

    async def survey_answer(self, client: str | None) -> None:
        await self.windows.attempt((self.surveys, "addr:" + address_key(client)))

    @classmethod
    def shared(cls, db: Database, *, signups: int, mails: int, surveys: int, window: float) -> RateLimits:
        def limit(count: int, name: str, what: str) -> FailureThrottle:
            return FailureThrottle(name, count, window, message=f"Too many {what}; try again later.")

        return cls(
            FailureWindows(db),
            limit(signups, "sign-ups", "sign-ups"),
            limit(mails, "verification-mails", "verification mails"),
            limit(surveys, "survey-answers", "survey answers"),
        )
