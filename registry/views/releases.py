"""A release as the JSON API shows it: its metadata, where its bundle and source map are served, its manifest."""

from __future__ import annotations

from typing import Any

import orjson

from registry.sourcegraph import static_path
from registry.store.extensions import Extension
from registry.store.releases import Release
from registry.views.extensions import extension_url


def render_release(extension: Extension, release: Release, *, with_manifest: bool = True) -> dict[str, Any]:
    base = extension_url(extension)
    address = f"version={release.version}" if release.version else f"tag={release.tag}"
    body: dict[str, Any] = {
        "id": release.id,
        "extension_id": extension.extension_id,
        "version": release.version,
        "tag": release.tag,
        "creator": release.creator,
        "created_at": release.created_at,
        "yanked_at": release.deleted_at,
        "downloads": release.downloads,
        "bundle": {
            "url": f"{base}/-/bundle.js?{address}",
            "static_url": static_path(release.id, extension.extension_id, "js"),
            "size": release.bundle_size,
            "sha256": release.bundle_sha256.hex() if release.bundle_sha256 else None,
            "integrity": release.bundle_integrity,
        },
        "source_map": None,
        "url": f"{base}/releases/{release.version}" if release.version else None,
    }
    if release.has_source_map:
        body["source_map"] = {
            "url": f"{base}/-/bundle.js.map?{address}",
            "static_url": static_path(release.id, extension.extension_id, "map"),
            "size": release.source_map_size,
            "sha256": release.source_map_sha256.hex() if release.source_map_sha256 else None,
        }
    if with_manifest:
        body["manifest"] = orjson.loads(release.manifest)
    return body
