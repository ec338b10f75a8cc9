"""The failure throttle, on a clock the test controls."""

from __future__ import annotations

import pytest

from registry.auth.throttle import FailureThrottle
from registry.domain.errors import TooManyRequests


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_applies_within_the_window_and_lifts_after_it() -> None:
    clock = Clock()
    throttle = FailureThrottle(3, 60, clock=clock)
    for _ in range(3):
        throttle.check("alice")
        throttle.record("alice")
    with pytest.raises(TooManyRequests) as refused:
        throttle.check("alice")
    assert refused.value.retry_after == 60
    throttle.check("bob")
    clock.now += 30
    with pytest.raises(TooManyRequests) as still:
        throttle.check("alice")
    assert still.value.retry_after == 30
    clock.now += 31
    throttle.check("alice")


def test_memory_is_bounded_by_dropping_the_stalest_keys() -> None:
    throttle = FailureThrottle(1, 60, max_keys=100, clock=Clock())
    for n in range(1000):
        throttle.record(f"addr:{n}")
    throttle.check("addr:0")  # forgotten
    with pytest.raises(TooManyRequests):
        throttle.check("addr:999")
