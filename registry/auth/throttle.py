"""Throttling of failed sign-ins and token uses, per username and per client address.

A sliding window of failure times per key, kept in the process: no database write happens on
the path an attacker drives. With several worker processes each keeps its own window, so the
effective limit is at most workers x limit (documented in the README). Memory is bounded: old
failures are pruned, and past `max_keys` the stalest keys are dropped.
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

    def record(self, key: str) -> None:
        failures = self._failures.setdefault(key, deque())
        failures.append(self._clock())
        self._failures.move_to_end(key)
        while len(failures) > self._limit:
            failures.popleft()
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)
