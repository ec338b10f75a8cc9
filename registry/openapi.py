"""The OpenAPI document: `schemas/openapi.json` plus one fragment per domain in
`schemas/openapi/*.json` (each with `paths`, `components` and `tags` of its own), merged at
start. A fragment may not redefine what another already defines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson


class OpenApiError(ValueError):
    pass


def load_openapi(directory: Path) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads((directory / "openapi.json").read_bytes())
    fragments = directory / "openapi"
    for path in sorted(fragments.glob("*.json")) if fragments.is_dir() else []:
        fragment = orjson.loads(path.read_bytes())
        _merge(document.setdefault("paths", {}), fragment.get("paths", {}), f"{path.name}: path")
        for section, entries in fragment.get("components", {}).items():
            target = document.setdefault("components", {}).setdefault(section, {})
            _merge(target, entries, f"{path.name}: components.{section}")
        document.setdefault("tags", []).extend(fragment.get("tags", []))
    return document


def _merge(target: dict[str, Any], entries: dict[str, Any], where: str) -> None:
    for key, value in entries.items():
        if key in target:
            raise OpenApiError(f"{where} {key} is already defined")
        target[key] = value
