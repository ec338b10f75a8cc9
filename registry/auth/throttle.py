"""Throttling of failed sign-ins and token uses, per username and per client address.

A sliding window of failure times per key, kept in the process: no database write happens on
the path an attacker drives. With several worker processes each keeps its own window, so the
effective limit is at most workers x limit (documented in the README). Memory is bounded: old
failures are pruned, and past `max_keys` the stalest keys are dropped.

An attempt is counted *before* its credentials are checked (`attempt`, synchronous: nothing can
run between the check and the count) and forgiven when they prove right (`forgive`). Checking
first and recording after the await of a bcrypt verification would let a burst of concurrent
wrong passwords all pass the check before the first failure is recorded.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from registry.errors import TooManyRequests


class FailureThrottle:
    def __init__(
        self, limit: int, window: float, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
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

    def check(self, key: str) -> None:
        """429 with Retry-After when `key` has used up its failures in the window."""
        failures = self._recent(key)
        if len(failures) >= self._limit:
            retry = max(1, math.ceil(failures[0] + self._window - self._clock()))
            raise TooManyRequests("Too many failed attempts; try again later.", headers={"Retry-After": str(retry)})

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
