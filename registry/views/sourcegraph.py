"""An extension as Sourcegraph's registry API shows it, for its REST client and its GraphQL."""

from __future__ import annotations

from typing import Any

import orjson

from registry import sourcegraph
from registry.store.extensions import Extension


def served_manifest_data(base: str, extension: Extension) -> dict[str, Any] | None:
    """The latest release's manifest as Sourcegraph served it: with a `url` to this registry's
    bundle when the manifest names none (Sourcegraph's getExtensionManifestWithBundleURL)."""
    if extension.manifest is None or extension.latest_release_id is None or extension.latest_created_at is None:
        return None
    data: dict[str, Any] = orjson.loads(extension.manifest)
    if not isinstance(data.get("url"), str) or not data["url"]:
        data["url"] = sourcegraph.bundle_url(
            base, extension.latest_release_id, extension.extension_id, extension.latest_created_at
        )
    return data


def served_manifest(base: str, extension: Extension) -> str | None:
    data = served_manifest_data(base, extension)
    return orjson.dumps(data).decode() if data is not None else None


def publisher_path(extension: Extension) -> str:
    return f"/{'users' if extension.publisher_user_id else 'organizations'}/{extension.publisher}"


def to_sourcegraph(base: str, extension: Extension) -> dict[str, Any]:
    """Sourcegraph's `registry.Extension`: the manifest as a JSON string, times in RFC 3339."""
    manifest = served_manifest(base, extension)
    return {
        "uuid": str(extension.uuid),
        "extensionID": extension.extension_id,
        "publisher": {"name": extension.publisher, "url": base + publisher_path(extension)},
        "name": extension.name,
        "manifest": manifest,
        "createdAt": sourcegraph.rfc3339(extension.created_at),
        "updatedAt": sourcegraph.rfc3339(extension.updated_at),
        "publishedAt": sourcegraph.rfc3339(extension.latest_created_at) if manifest else sourcegraph.ZERO_TIME,
        "url": f"{base}/extensions/{extension.extension_id}",
    }
