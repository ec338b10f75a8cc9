"""Publishing releases (also in one call with /api/publish), listing, reading and yanking them."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from registry import appkeys
from registry.assets import point_to_source_map
from registry.auth import policy
from registry.auth.actor import request_actor
from registry.auth.tokens import Scope
from registry.domain.actor import Actor
from registry.domain.errors import BadRequest, Conflict, NotFound, Unprocessable
from registry.handlers.common import connection, live_extension, transaction
from registry.handlers.extensions import may_publish_for
from registry.handlers.publish_input import PublishInput, read_publish_input
from registry.http import json_response
from registry.manifests import Manifest, publication_warnings
from registry.pagination import Column, encode_cursor, page_request
from registry.public_url import base_url
from registry.readme import RenderedReadme, readme_text, render_once
from registry.sourcegraph import static_path
from registry.store import extensions as extension_store
from registry.store import readmes as readme_store
from registry.store import releases as release_store
from registry.store.extensions import Extension, ListingFields
from registry.store.publishers import Publisher, publisher_by_name
from registry.store.releases import NewRelease, Release
from registry.versions import by_precedence, latest, parse_version
from registry.views.extensions import extension_url
from registry.views.releases import render_release

routes = web.RouteTableDef()

_TAG = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}\Z")
_EXTENSION_ID = re.compile(r"^(?P<publisher>[^/]{1,255})/(?P<name>[^/]{1,128})\Z")


@dataclass(frozen=True)
class Prepared:
    """A publish request checked in full before any row is touched."""

    publisher: str
    name: str
    manifest: Manifest
    version: str | None  # None: an unversioned release (Sourcegraph's), a new one at each publish
    tag: str
    bundle: bytes | None
    source_map: bytes | None
    content_sha256: bytes
    warnings: list[dict[str, str]]


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


def prepare_publish(request: web.Request, data: PublishInput, *, block_on_warnings: bool = True) -> Prepared:
    """A publish request checked in full before any row is touched; publication warnings are
    refused (422) unless `force`d or not `block_on_warnings`."""
    match = _EXTENSION_ID.match(data.extension_id or "")
    if match is None:
        raise Unprocessable.at("/extension_id", "must be publisher/name")
    manifest = request.app[appkeys.MANIFESTS].parse(data.manifest)
    declared = manifest.data.get("version")
    if declared is not None and not isinstance(declared, str):
        raise Unprocessable.at("/manifest/version", "must be a string")
    version = data.version or declared or None
    if declared and data.version and declared != data.version:
        raise Unprocessable.at("/version", f"must match the manifest's version ({declared})")
    if version is not None:
        parse_version(version)
    if not _TAG.match(data.tag):
        raise Unprocessable(
            "The tag is invalid.", errors=[{"pointer": "/tag", "message": "must match ^[a-z0-9][a-z0-9.-]{0,63}$"}]
        )
    if data.bundle is not None:
        _text(data.bundle, "/bundle")
    elif not isinstance(manifest.data.get("url"), str) or not manifest.data["url"]:
        raise Unprocessable.at("/bundle", "is required unless the manifest has a url")
    if data.source_map is not None:
        _text(data.source_map, "/source_map")
        try:
            if not isinstance(orjson.loads(data.source_map), dict):
                raise ValueError
        except ValueError:
            raise Unprocessable(
                "The source map is not a JSON object.",
                errors=[{"pointer": "/source_map", "message": "must be a JSON source map"}],
            ) from None
    warnings = publication_warnings(manifest, has_source_map=data.source_map is not None)
    if warnings and block_on_warnings and not data.force:
        raise Unprocessable(
            "Publishing would need attention: "
            + "; ".join(w["message"] for w in warnings)
            + ". Send force: true to publish anyway.",
            errors=warnings,
            extra={"warnings": warnings},
        )
    content = hashlib.sha256()
    for part in (
        manifest.sha256,
        hashlib.sha256(data.bundle or b"").digest(),
        hashlib.sha256(data.source_map or b"").digest(),
    ):
        content.update(part)
    return Prepared(
        match["publisher"],
        match["name"],
        manifest,
        version,
        data.tag,
        data.bundle,
        data.source_map,
        content.digest(),
        warnings,
    )


async def refresh_listing(conn: Any, extension: Extension) -> None:
    """Point the extension's listing fields at the latest live `release`-tag release."""
    current = latest(await release_store.releases_of(conn, extension.id, tag="release"))
    if current is None:
        fields = ListingFields(None, None, None, None, [], [], False, None)
    else:
        manifest: dict[str, Any] = orjson.loads(current.manifest)
        title = manifest.get("title")
        fields = ListingFields(
            current.id,
            current.manifest,
            title,
            manifest.get("description"),
            list(manifest.get("categories", [])),
            list(manifest.get("tags", [])),
            manifest.get("wip") is True or str(title or "").startswith(("WIP:", "[WIP]")),
            current.created_at,
        )
    await extension_store.update_listing(conn, extension, fields)


@dataclass(frozen=True)
class Published:
    """What a publish did: the extension, its release, and whether the release is new (201) or
    an identical re-publish of a version (200)."""

    extension: Extension
    release: Release
    created: bool


def _same_or_conflict(existing: Release, prepared: Prepared, extension: Extension) -> Published:
    if existing.deleted_at is not None:
        raise Conflict(f"{extension.extension_id}@{prepared.version} was yanked; a version is never reused.")
    if existing.content_sha256 != prepared.content_sha256 or existing.tag != prepared.tag:
        raise Conflict(f"{extension.extension_id}@{prepared.version} is already published with different content.")
    return Published(extension, existing, created=False)


async def publish_release(request: web.Request, actor: Actor, prepared: Prepared, *, create: bool) -> Published:
    """Release `prepared` for `actor`, in one transaction: the rules of publishing, shared by the
    REST routes and Sourcegraph's GraphQL `publishExtension`.

    A versioned release is unique and immutable (an identical re-publish is answered with the
    existing release); an unversioned one (Sourcegraph's NULL `release_version`) is a new release
    every time.
    """
    async with connection(request) as conn:
        publisher = await publisher_by_name(conn, prepared.publisher)
    if publisher is None:
        raise NotFound(f"No user or organization named {prepared.publisher}.")
    user_id = await may_publish_for(request, actor, publisher)
    readme = await _render_readme(request, prepared.manifest)
    try:
        async with transaction(request) as conn:
            extension = await _extension_for(conn, publisher, prepared.name, create=create)
            if prepared.version is not None:
                existing = await release_store.release_by_version(
                    conn, extension.id, prepared.version, include_yanked=True
                )
                if existing is not None:
                    return _same_or_conflict(existing, prepared, extension)
            release_id = await release_store.next_release_id(conn)
            await release_store.insert_release(
                conn, release_id, _new_release(request, extension, prepared, user_id, release_id)
            )
            if readme is not None:
                await readme_store.insert_readme(conn, release_id, readme)
            await refresh_listing(conn, extension)
            release = await release_store.release_by_id(conn, release_id)
    except Conflict:
        # A concurrent publish of the same version won the unique index: identical content is
        # an idempotent success, anything else stays a conflict. So does a version published
        # before under this name (deleted, re-created or renamed since: migration 6's record),
        # even when this transaction had created the extension.
        if prepared.version is None:
            raise
        async with connection(request) as conn:
            found = await extension_store.extension_by_name(conn, publisher.name, prepared.name)
            existing = None
            if found is not None:
                existing = await release_store.release_by_version(conn, found.id, prepared.version, include_yanked=True)
        if found is None or existing is None:
            raise
        return _same_or_conflict(existing, prepared, found)
    assert release is not None
    return Published(extension, release, created=True)


async def _release(request: web.Request, actor: Actor, prepared: Prepared, *, create: bool) -> web.Response:
    published = await publish_release(request, actor, prepared, create=create)
    extension, release = published.extension, published.release
    body = {**render_release(extension, release), "warnings": prepared.warnings}
    if not published.created:
        return json_response(body, status=200)
    location = f"{extension_url(extension)}/releases/{release.version}" if release.version else extension_url(extension)
    return json_response(body, status=201, headers={"Location": location})


async def _extension_for(conn: Any, publisher: Publisher, name: str, *, create: bool) -> Extension:
    extension = await extension_store.extension_by_name(conn, publisher.name, name, lock=True)
    if extension is None and create:
        created = await extension_store.create_extension(conn, publisher, name)
        extension = created or await extension_store.extension_by_name(conn, publisher.name, name, lock=True)
    if extension is None:
        raise NotFound(f"No extension {publisher.name}/{name}; create it first (or use POST /api/publish).")
    return extension


def _new_release(
    request: web.Request, extension: Extension, prepared: Prepared, user_id: int, release_id: int
) -> NewRelease:
    bundle = prepared.bundle
    if bundle is not None and prepared.source_map is not None:
        bundle = point_to_source_map(bundle, base_url(request) + static_path(release_id, extension.extension_id, "map"))
    source_map = prepared.source_map
    return NewRelease(
        extension_pk=extension.id,
        creator_user_id=user_id,
        version=prepared.version,
        tag=prepared.tag,
        manifest=prepared.manifest.text,
        content_sha256=prepared.content_sha256,
        bundle=bundle.decode() if bundle is not None else None,
        bundle_sha256=hashlib.sha256(bundle).digest() if bundle is not None else None,
        bundle_size=len(bundle) if bundle is not None else None,
        bundle_integrity="sha384-" + base64.b64encode(hashlib.sha384(bundle).digest()).decode() if bundle else None,
        source_map=source_map.decode() if source_map is not None else None,
        source_map_sha256=hashlib.sha256(source_map).digest() if source_map is not None else None,
        source_map_size=len(source_map) if source_map is not None else None,
    )


async def _authorize_publisher(request: web.Request, actor: Actor, name: str) -> None:
    """404 for an unknown publisher, 401/403 for an actor who may not publish for it: checked
    before the body is read (or, when only the body names the publisher, before it is validated),
    so that nobody else's upload costs decompression, parsing or validation."""
    async with connection(request) as conn:
        publisher = await publisher_by_name(conn, name)
    if publisher is None:
        raise NotFound(f"No user or organization named {name}.")
    await may_publish_for(request, actor, publisher)


async def _render_readme(request: web.Request, manifest: Manifest) -> RenderedReadme | None:
    """The README rendered once, at publish, off the event loop (registry.readme), to be kept."""
    text = readme_text(manifest.data)
    return await render_once(request.app[appkeys.PARSERS], text) if text is not None else None


@routes.post("/api/publish")
async def publish(request: web.Request) -> web.Response:
    """Create the extension if needed and release it, in one transaction (`src extensions publish`)."""
    actor = request_actor(request)
    policy.signed_in(actor, Scope.PUBLISH)  # 401/403 before a byte of the body is read
    authorized: set[str] = set()

    async def authorize(extension_id: str) -> None:
        if (named := _EXTENSION_ID.match(extension_id)) is not None and named["publisher"] not in authorized:
            await _authorize_publisher(request, actor, named["publisher"])
            authorized.add(named["publisher"])

    data = await read_publish_input(request, None, named=authorize)
    if data.extension_id is not None:
        await authorize(data.extension_id)
    if data.extension_id is None and isinstance(data.manifest, dict | str | bytes):
        manifest = request.app[appkeys.MANIFESTS].parse(data.manifest)
        if manifest.data.get("publisher") and manifest.data.get("name"):
            data = PublishInput(
                f"{manifest.data['publisher']}/{manifest.data['name']}",
                data.manifest, data.bundle, data.source_map, data.version, data.tag, data.force,
            )  # fmt: skip
    return await _release(request, actor, prepare_publish(request, data), create=True)


@routes.post("/api/extensions/{publisher}/{name}/releases")
async def create_release(request: web.Request) -> web.Response:
    actor = request_actor(request)
    await _authorize_publisher(request, actor, request.match_info["publisher"])
    extension_id = f"{request.match_info['publisher']}/{request.match_info['name']}"
    data = await read_publish_input(request, extension_id)
    return await _release(request, actor, prepare_publish(request, data), create=False)


@routes.get("/api/extensions/{publisher}/{name}/releases")
async def list_releases(request: web.Request) -> web.Response:
    """Releases newest first by SemVer precedence (legacy unversioned ones last), paginated."""
    page = page_request(request)
    tag = request.query.get("tag")
    extension = await live_extension(request, request.match_info["publisher"], request.match_info["name"])
    async with connection(request) as conn:
        releases = by_precedence(await release_store.releases_of(conn, extension.id, tag=tag))
    after = page.after_id(Column.INT8)
    if after is not None:
        position = next((n for n, r in enumerate(releases) if r.id == after), None)
        if position is None:
            raise BadRequest("cursor names a release that is gone; start again without it.")
        releases = releases[position + 1 :]
    shown = releases[: page.limit]
    return json_response(
        {
            "items": [render_release(extension, r, with_manifest=False) for r in shown],
            "next_cursor": encode_cursor([shown[-1].id]) if len(releases) > page.limit else None,
        }
    )


@routes.get("/api/extensions/{publisher}/{name}/releases/{version}")
async def get_release(request: web.Request) -> web.Response:
    """One release by version; a yanked one is shown with its `yanked_at` (its assets are gone)."""
    extension = await live_extension(request, request.match_info["publisher"], request.match_info["name"])
    async with connection(request) as conn:
        release = await release_store.release_by_version(
            conn, extension.id, request.match_info["version"], include_yanked=True
        )
    if release is None:
        raise NotFound(f"{extension.extension_id} has no version {request.match_info['version']}.")
    return json_response(render_release(extension, release))


@routes.delete("/api/extensions/{publisher}/{name}/releases/{version}")
async def yank_release(request: web.Request) -> web.Response:
    """Yank: the release is no longer served or listed, and its version is never used again."""
    actor = request_actor(request)
    extension = await live_extension(request, request.match_info["publisher"], request.match_info["name"])
    await may_publish_for(
        request, actor, Publisher(extension.publisher, extension.publisher_user_id, extension.publisher_org_id)
    )
    async with transaction(request) as conn:
        locked = await extension_store.extension_by_name(conn, extension.publisher, extension.name, lock=True)
        release = await release_store.release_by_version(conn, extension.id, request.match_info["version"])
        if locked is None or release is None:
            raise NotFound(f"{extension.extension_id} has no live version {request.match_info['version']}.")
        await release_store.yank_release(conn, release.id)
        await refresh_listing(conn, locked)
    return web.Response(status=204)
