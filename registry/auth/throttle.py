"""Throttling of failed sign-ins and token uses, per username and per client address.

A sliding window of failure times per key, kept in the process: no database write happens on
the path an attacker drives. With several worker processes each keeps its own window, so the
effective limit is at most workers x limit (documented in the README). Memory is bounded: old
failures are pruned, and past `max_keys` the stalest keys are dropped.

An attempt is counted *before* its credentials are checked (`attempt`, synchronous: nothing can
run between the check and the count) and forgiven when they prove right (`forgive`). Checking
first and recording after the await of a bcrypt verification would let a burst of concurrent
wrong passwords all pass the check before the first failure is recorded.

Only failures are counted, never successes: a valid token always works (it is looked up first;
see registry.auth.authentication). The same sliding window also counts events that are limited whether
they succeed or not (sign-ups, verification mails, survey answers: `RateLimits`), by `attempt`.

Keys are made by the callers, from one folding of names (registry.names) and one reading of the
client's address (registry.client_address). `Throttle` is the interface: a shared implementation
(a PostgreSQL table, for several nodes) can replace the in-process one behind it.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

from registry.client_address import address_key
from registry.domain.errors import TooManyRequests
from registry.domain.record import Record


class Throttle(Protocol):
    def check(self, key: str) -> None: ...
    def attempt(self, key: str) -> float: ...
    def forgive(self, key: str, stamp: float) -> None: ...
    def record(self, key: str) -> None: ...


class FailureThrottle:
    def __init__(
        self,
        limit: int,
        window: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
        message: str = "Too many failed attempts; try again later.",
    ) -> None:
        self._limit = limit
        self._message = message
        self._window = window
        self._max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        horizon = self._clock() - self._window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def scaled(self, factor: int) -> FailureThrottle:
        """A sibling throttle on the same window and clock allowing `factor` times the failures."""
        return FailureThrottle(
            self._limit * factor, self._window, max_keys=self._max_keys, clock=self._clock, message=self._message
        )

    def check(self, key: str) -> None:
        """429 with Retry-After when `key` has used up its failures in the window."""
        failures = self._recent(key)
        if len(failures) >= self._limit:
            retry = max(1, math.ceil(failures[0] + self._window - self._clock()))
            raise TooManyRequests(self._message, retry_after=retry)

    def attempt(self, key: str) -> float:
        """Check `key` (429 when used up) and count an attempt at once; returns its stamp for `forgive`."""
        self.check(key)
        stamp = self._clock()
        self._append(key, stamp)
        return stamp

    def forgive(self, key: str, stamp: float) -> None:
        """Take back an attempt counted by `attempt` (its credentials were right after all)."""
        failures = self._failures.get(key)
        if failures is None:
            return
        try:
            failures.remove(stamp)
        except ValueError:
            return  # already pruned with the window
        if not failures:
            del self._failures[key]

    def record(self, key: str) -> None:
        self._append(key, self._clock())

    def _append(self, key: str, stamp: float) -> None:
        failures = self._failures.setdefault(key, deque())
        failures.append(stamp)
        self._failures.move_to_end(key)
        while len(failures) > self._limit:
            failures.popleft()
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)


class RateLimits(Record):
    """Per-client-address limits on what costs the site something even when it succeeds: every
    attempt counts (429 with Retry-After past the limit). `client` is `request.remote`, which
    registry.client_address resolved through trusted proxies; an IPv6 client counts as its /64."""

    signups: Throttle
    mails: Throttle  # keyed by client address and by recipient address
    surveys: Throttle

    def sign_up(self, client: str | None) -> None:
        self.signups.attempt("addr:" + address_key(client))

    def verification_mail(self, client: str | None, recipient: str) -> None:
        """A mail to `recipient`: counted per sender address and per recipient (no mail bombing of
        one inbox from many addresses). Both are checked before either is counted."""
        keys = ("addr:" + address_key(client), "to:" + recipient.lower())
        for key in keys:
            self.mails.check(key)
        for key in keys:
            self.mails.record(key)

    def survey_answer(self, client: str | None) -> None:
        self.surveys.attempt("addr:" + address_key(client))

    @classmethod
    def in_process(cls, *, signups: int, mails: int, surveys: int, window: float) -> RateLimits:
        def limit(count: int, what: str) -> FailureThrottle:
            return FailureThrottle(count, window, message=f"Too many {what}; try again later.")

        return cls(limit(signups, "sign-ups"), limit(mails, "verification mails"), limit(surveys, "survey answers"))
