"""Publishing through the real API, for tests that need releases to exist."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

Client = TestClient[web.Request, web.Application]


def manifest(**fields: Any) -> dict[str, Any]:
    """A manifest that publishes without warnings (given a source map)."""
    return {
        "title": "Word count",
        "description": "Counts the words in a file.",
        "activationEvents": ["*"],
        "repository": {"type": "git", "url": "https://example.com/word-count"},
        **fields,
    }


def bundle_for(version: str) -> str:
    return f"export function activate() {{ return '{version}' }}\n//# sourceMappingURL=extension.js.map\n"


SOURCE_MAP = '{"version":3,"sources":["extension.ts"],"names":[],"mappings":"AAAA"}'


async def publish(
    client: Client,
    headers: dict[str, str],
    extension_id: str,
    version: str,
    *,
    expect: int | None = 201,
    **fields: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "extension_id": extension_id,
        "manifest": manifest(),
        "bundle": bundle_for(version),
        "source_map": SOURCE_MAP,
        "version": version,
        **fields,
    }
    response = await client.post("/api/publish", json=body, headers=headers)
    payload: dict[str, Any] = await response.json()
    if expect is not None:
        assert response.status == expect, payload
    payload["_status"] = response.status
    return payload
