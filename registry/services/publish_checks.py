"""The checks of a publish: pure functions of the request and the manifest schema, needing no
database. The server runs them before touching a row (registry.services.publishing), and the
CLI's `--dry-run` runs the very same ones, so that a dry run that passes is a publish the server
accepts (but for who may publish, and what is already published).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

import orjson

from registry.config import Config
from registry.domain.errors import PayloadTooLarge, Unprocessable
from registry.domain.record import Record
from registry.manifests import Manifest, ManifestValidator, publication_warnings
from registry.versions import parse_version

_TAG = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}\Z")
_EXTENSION_ID = re.compile(r"^(?P<publisher>[^/]{1,255})/(?P<name>[^/]{1,128})\Z")


class PublishInput(Record):
    """A publish request as any edge reads it (JSON, multipart, GraphQL, the CLI's files)."""

    extension_id: str | None
    manifest: Any
    bundle: bytes | None  # None only through GraphQL's development mode (the manifest has a url)
    source_map: bytes | None
    version: str | None
    tag: str
    force: bool


class Prepared(Record):
    """A publish request checked in full before any row is touched."""

    publisher: str
    name: str
    manifest: Manifest
    version: str | None  # None: an unversioned release (Sourcegraph's), a new one at each publish
    tag: str
    bundle: bytes | None
    source_map: bytes | None
    warnings: list[dict[str, str]]


def publisher_of(extension_id: str) -> str | None:
    """The publisher an extension id names, or None for what is no `publisher/name`."""
    match = _EXTENSION_ID.match(extension_id)
    return None if match is None else match["publisher"]


def refuse_oversized(config: Config, bundle: bytes | None, source_map: bytes | None) -> None:
    """413 for a bundle or source map over its limit, however the publish arrived."""
    for name, value, limit in (
        ("bundle", bundle, config.max_bundle_bytes),
        ("source_map", source_map, config.max_source_map_bytes),
    ):
        if value is not None and len(value) > limit:
            raise PayloadTooLarge(f"The {name} is {len(value)} bytes; the limit is {limit}.")


def _text(data: bytes, pointer: str) -> None:
    """Bundles and maps are stored as text: UTF-8, and no NUL (PostgreSQL text cannot hold it)."""
    try:
        data.decode()
    except UnicodeDecodeError:
        raise Unprocessable(
            f"{pointer} is not UTF-8 text.", errors=[{"pointer": pointer, "message": "must be UTF-8 text"}]
        ) from None
    if b"\x00" in data:
        raise Unprocessable(
            f"{pointer} contains a NUL byte.", errors=[{"pointer": pointer, "message": "must not contain NUL"}]
        )


def _named_by_manifest(data: PublishInput, manifests: ManifestValidator) -> PublishInput:
    """Without an extension id, the manifest's `publisher` and `name` name the extension."""
    if data.extension_id is not None or not isinstance(data.manifest, dict | str | bytes):
        return data
    manifest = manifests.parse(data.manifest)
    if manifest.data.get("publisher") and manifest.data.get("name"):
        return replace(data, extension_id=f"{manifest.data['publisher']}/{manifest.data['name']}")
    return data


def _version(data: PublishInput, manifest: Manifest) -> str | None:
    declared = manifest.data.get("version")
    if declared is not None and not isinstance(declared, str):
        raise Unprocessable.at("/manifest/version", "must be a string")
    if declared and data.version and declared != data.version:
        raise Unprocessable.at("/version", f"must match the manifest's version ({declared})")
    version = data.version or declared or None
    if version is not None:
        parse_version(version)
    return version


SOURCE_MAP_PARSED_IN_LINE = 1 << 20
"""A larger source map is parsed by the server in a worker process (`is_json_object`), not by
`check_publish` on the event loop: 30 MiB of JSON holds the loop for most of a second."""


def is_json_object(data: bytes) -> bool:
    """Whether `data` is a JSON object (pure: runs in a worker process for a large source map)."""
    try:
        return isinstance(orjson.loads(data), dict)
    except orjson.JSONDecodeError:
        return False


def not_a_source_map() -> Unprocessable:
    return Unprocessable(
        "The source map is not a JSON object.",
        errors=[{"pointer": "/source_map", "message": "must be a JSON source map"}],
    )


def _check_files(data: PublishInput, manifest: Manifest, *, parse_large_map: bool) -> None:
    if data.bundle is not None:
        _text(data.bundle, "/bundle")
    elif not isinstance(manifest.data.get("url"), str) or not manifest.data["url"]:
        raise Unprocessable.at("/bundle", "is required unless the manifest has a url")
    if data.source_map is not None:
        _text(data.source_map, "/source_map")
        parsed_here = parse_large_map or len(data.source_map) <= SOURCE_MAP_PARSED_IN_LINE
        if parsed_here and not is_json_object(data.source_map):
            raise not_a_source_map()


def _refuse_warnings(warnings: list[dict[str, str]]) -> None:
    raise Unprocessable(
        "Publishing would need attention: "
        + "; ".join(w["message"] for w in warnings)
        + ". Send force: true to publish anyway.",
        errors=warnings,
        extra={"warnings": warnings},
    )


def content_sha256(manifest_sha256: bytes, bundle_sha256: bytes, source_map_sha256: bytes) -> bytes:
    """What makes two publishes of one version the same release, however their JSON was written:
    the digest of the manifest's, the bundle's and the source map's digests (an absent file's is
    that of no bytes). The server has the files' digests from registry.services.release_files,
    which digests them once, off the event loop."""
    return hashlib.sha256(manifest_sha256 + bundle_sha256 + source_map_sha256).digest()


def check_publish(
    data: PublishInput, manifests: ManifestValidator, *, block_on_warnings: bool = True, parse_large_map: bool = True
) -> Prepared:
    """A publish request checked in full, needing no database: extension id, manifest (against the
    schema), version, tag, bundle and source map. Publication warnings are refused (422) unless
    `force`d or not `block_on_warnings`. Without `parse_large_map` (the server, on its event loop) a
    source map over SOURCE_MAP_PARSED_IN_LINE is left for the caller to parse elsewhere."""
    data = _named_by_manifest(data, manifests)
    match = _EXTENSION_ID.match(data.extension_id or "")
    if match is None:
        raise Unprocessable.at("/extension_id", "must be publisher/name")
    manifest = manifests.parse(data.manifest)
    version = _version(data, manifest)
    if not _TAG.match(data.tag):
        raise Unprocessable(
            "The tag is invalid.", errors=[{"pointer": "/tag", "message": "must match ^[a-z0-9][a-z0-9.-]{0,63}$"}]
        )
    _check_files(data, manifest, parse_large_map=parse_large_map)
    warnings = publication_warnings(manifest, has_source_map=data.source_map is not None)
    if warnings and block_on_warnings and not data.force:
        _refuse_warnings(warnings)
    return Prepared(
        match["publisher"],
        match["name"],
        manifest,
        version,
        data.tag,
        data.bundle,
        data.source_map,
        warnings,
    )
