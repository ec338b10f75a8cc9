"""Synthetic lockfiles as deep as they are large, for the parsers' tests and benchmark: a
recursive walk of their graph would exceed Python's recursion limit, and a quadratic one shows."""

from __future__ import annotations

import json
from typing import Any

YARN_CHAIN_ROOT = '{"dependencies": {"p0": "^1.0.0"}}'
"""The package.json beside `yarn_chain_lock`: the root needs p0."""


def chain_lock(count: int) -> str:
    """package-lock v3 where the root needs p0, p0 needs p1, …"""
    packages: dict[str, Any] = {"": {"dependencies": {"p0": "^1"}}}
    for i in range(count):
        entry: dict[str, Any] = {"version": "1.0.0"}
        if i + 1 < count:
            entry["dependencies"] = {f"p{i + 1}": "^1"}
        packages[f"node_modules/p{i}"] = entry
    return json.dumps({"lockfileVersion": 3, "packages": packages})


def yarn_chain_lock(count: int) -> str:
    """yarn.lock v1 where p0 needs p1, p1 needs p2, …"""
    entries = [f'"p{i}@^1.0.0":\n  version "1.0.{i}"\n  dependencies:\n    p{i + 1} "^1.0.0"\n' for i in range(count)]
    return "# yarn lockfile v1\n\n" + "\n".join(entries)
