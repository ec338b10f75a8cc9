"""An extension as the JSON API shows it."""

from __future__ import annotations

from typing import Any

import orjson

from registry.store.extensions import Extension


def extension_url(extension: Extension) -> str:
    return f"/api/extensions/{extension.extension_id}"


def render_extension_metadata(extension: Extension) -> dict[str, Any]:
    """An extension as its own route shows it: the listing's fields and its latest manifest."""
    body = render_extension(extension)
    body["manifest"] = orjson.loads(extension.manifest) if extension.manifest else None
    return body


def render_extension(extension: Extension) -> dict[str, Any]:
    latest = None
    if extension.latest_release_id is not None:
        latest = {
            "id": extension.latest_release_id,
            "version": extension.latest_version,
            "created_at": extension.latest_created_at,
            "url": f"{extension_url(extension)}/releases/{extension.latest_version}"
            if extension.latest_version
            else None,
        }
    return {
        "extension_id": extension.extension_id,
        "uuid": extension.uuid,
        "publisher": {"name": extension.publisher, "kind": "user" if extension.publisher_user_id else "org"},
        "name": extension.name,
        "title": extension.title,
        "description": extension.description,
        "categories": list(extension.categories),
        "tags": list(extension.tags),
        "wip": extension.wip,
        "downloads": extension.downloads,
        "created_at": extension.created_at,
        "updated_at": extension.updated_at,
        "published_at": extension.published_at,
        "latest_release": latest,
        "url": extension_url(extension),
    }
