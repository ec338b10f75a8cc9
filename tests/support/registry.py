"""Publishing through the real API, for tests that need releases to exist."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import FormData, web
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


def publish_form(extension_id: str, version: str) -> FormData:
    """A multipart publish of `version`, the extension id first (as the CLI sends it), the version in
    the manifest, and the bundle and source map as files."""
    form = FormData()
    form.add_field("extension_id", extension_id)
    form.add_field("manifest", orjson.dumps(manifest(version=version)).decode(), content_type="application/json")
    form.add_field(
        "bundle", bundle_for(version).encode(), filename="extension.js", content_type="application/javascript"
    )
    form.add_field("source_map", SOURCE_MAP.encode(), filename="extension.js.map", content_type="application/json")
    return form


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
