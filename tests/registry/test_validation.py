"""A large publish body checked in a worker process: what it answers, and what it leaves to be
parsed again in line (registry.validation.parse_checked)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from registry.validation import count_values, parse_checked

MIB = 1 << 20


@pytest.mark.parametrize(
    ("value", "count"),
    [
        ("bundle", 1),
        ([], 1),
        ({"a": [1, 2], "b": {}}, 7),  # the object, 2 keys, the array and its 2 items, the inner object
        ([[[]]], 3),
    ],
)
def test_values_are_counted_with_keys_and_containers(value: Any, count: int) -> None:
    assert count_values(value, 100) == count


def test_counting_stops_just_past_the_limit() -> None:
    assert count_values([0] * 1_000_000, 10) == 11


def test_a_body_of_few_values_is_checked_but_left_to_be_parsed_again() -> None:
    raw = orjson.dumps({"extension_id": "a/b", "bundle": "x" * MIB, "manifest": {"title": "T"}})
    assert parse_checked(raw, MIB, 10) == (None, None)
    assert parse_checked(raw, MIB)[0] == orjson.loads(raw), "without keep_values, the body is answered"


def test_a_body_of_many_values_is_answered() -> None:
    raw = orjson.dumps({"extension_id": "a/b", "x": list(range(100))})
    assert parse_checked(raw, MIB, 10) == (orjson.loads(raw), None)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b'{"bundle": "x"', 400),
        (b'{"bundle": "\\u0000"}', 422),
        (orjson.dumps({"manifest": {"x": "y" * MIB}}), 413),
    ],
)
def test_a_refusal_is_answered_whatever_the_body_holds(raw: bytes, status: int) -> None:
    body, refused = parse_checked(raw, MIB, 10)
    assert body is None and refused is not None and refused[0] == status
