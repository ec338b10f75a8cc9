"""A settings cascade merged: each level's parsed settings (strict JSON text) over the ones before.

A cascade holds up to registry.services.settings.MAX_CASCADE_BYTES of parsed settings; decoding
and merging that costs ~0.2 s (17.6 MB took 2.9 s), so a large one is merged in a worker process
(registry.offload), and this module imports nothing heavy: a worker starts by importing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` over `base`: objects merge key by key, anything else is replaced. New dicts
    only: neither input is changed."""
    merged = dict(base)
    for key, value in override.items():
        earlier = merged.get(key)
        if isinstance(earlier, dict) and isinstance(value, dict):
            merged[key] = deep_merge(earlier, value)
        else:
            merged[key] = value
    return merged


def merged_json(parsed: Sequence[str], member: str | None = None) -> bytes:
    """The levels' settings objects (strict JSON text, in merge order: the last wins) merged, as
    JSON text; only the merged object's `member` (`null` when absent) when that is given. Text, not
    objects, comes back from a worker process: building 7,000 small dicts again from the merged text
    cost the event loop 40 ms, while the text goes into a response as it is (orjson.Fragment)."""
    merged: dict[str, Any] = {}
    for level in parsed:
        merged = deep_merge(merged, orjson.loads(level))
    return orjson.dumps(merged if member is None else merged.get(member))
