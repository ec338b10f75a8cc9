"""Settings: JSONC documents for the site, each org and each user, versioned, merged in a cascade.

Every write inserts a new version; the current settings are a subject's newest version. A write
names the version it edited (`last_id`) and is refused with 409 (naming the current id) when that
is no longer the newest: writers of one subject serialise on an advisory lock, so of many writers
editing the same version exactly one wins. Contents are kept exactly as written (comments too)
and must parse as a JSON object with comments and trailing commas allowed (JSONC, read by json5).

A user's cascade merges global → each of the user's orgs (by name) → the user's own settings;
its `extensions` key (`{"publisher/name": true|false}`) says which extensions the user enabled.
A cascade holds at most MAX_CASCADE_BYTES of parsed settings: decoding and merging cost time in
proportion (80 orgs of 220 KB each held the event loop 2.9 s per read), so a write that would put
any cascade holding its subject past that is refused (413), a cascade past it all the same (one
joined an org, or two writes raced) is refused at reading (409, naming its size), and one over
MERGED_ON_LOOP_BYTES is merged in a worker process.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import orjson
from aiohttp import web

from registry import appkeys
from registry.auth import policy
from registry.auth.actor import request_actor
from registry.cascade import merged_json
from registry.domain.actor import Actor
from registry.domain.errors import (
    RETRY_AFTER_SECONDS,
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unprocessable,
)
from registry.handlers.common import connection, json_body, transaction
from registry.http import json_response
from registry.jsonc import InvalidSettings, jsonc_to_json, strict_json
from registry.offload import WorkerPool, WorkTimeout
from registry.pagination import page_body, page_request
from registry.public_url import base_url
from registry.sourcegraph import static_path
from registry.store import orgs as org_store
from registry.store import settings as settings_store
from registry.store import users as user_store
from registry.store.settings import EnabledExtension, Subject, Version

routes = web.RouteTableDef()

MAX_CONTENTS_BYTES = 256 * 1024
MAX_JSON5_BYTES = 64 * 1024  # what JSONC's fast way cannot read goes through json5 (registry.jsonc)
MAX_CASCADE_BYTES = 1024 * 1024  # of parsed settings in a cascade: ~0.2 s to merge in a worker
MERGED_ON_LOOP_BYTES = 32 * 1024  # ~10 ms to merge: not worth a trip to a worker process
EMPTY_CONTENTS = "{}"
_MAX_ID = 2**31 - 1  # settings.id is an integer column
_EXTENSION_ID = re.compile(r"^(?P<publisher>[^/]{1,255})/(?P<name>[^/]{1,128})\Z")


async def parse_settings(parsers: WorkerPool, text: str, *, max_json5_bytes: int | None) -> str:
    """The settings object in `text` as strict JSON text; InvalidSettings when it is not JSONC for
    a JSON object (see jsonc_to_json for `max_json5_bytes`)."""
    try:
        return strict_json(orjson.loads(text))  # strict JSON, the common case, at C speed
    except orjson.JSONDecodeError:
        pass
    try:
        return await parsers.run(jsonc_to_json, text, max_json5_bytes)
    except WorkTimeout:
        raise InvalidSettings(f"took over {parsers.timeout:g} s to parse") from None


def render_subject(subject: Subject) -> dict[str, Any]:
    return {"type": subject.kind, "name": subject.name}


def render_version(subject: Subject, version: Version | None) -> dict[str, Any]:
    if version is None:
        return {"id": None, "subject": render_subject(subject), "contents": EMPTY_CONTENTS, "author": None,
                "created_at": None}  # fmt: skip
    return {
        "id": version.id,
        "subject": render_subject(subject),
        "contents": version.contents if version.contents is not None else EMPTY_CONTENTS,
        "author": version.author,
        "created_at": version.created_at,
    }


# Subjects and who may read and write them.


def _global_subject(actor: Actor, *, write: bool) -> Subject:
    if write:
        policy.require_site_admin(actor)
    else:
        policy.signed_in(actor)
    return Subject("global")


async def _org_subject(request: web.Request, actor: Actor) -> Subject:
    """Org settings: members and site admins read and write them (anonymous: 401 before any 404)."""
    user = policy.signed_in(actor)
    name = request.match_info["name"]
    async with connection(request) as conn:
        membership = await org_store.org_membership(conn, name, user.id)
    if membership is None:
        raise NotFound(f"No organization named {name}.")
    policy.require_member_or_site_admin(actor, membership)
    org = membership.org
    return Subject("org", org.name, org_id=org.id)


async def _user_subject(request: web.Request, actor: Actor) -> Subject:
    """User settings: the user and site admins read and write them."""
    policy.signed_in(actor)
    username = request.match_info["username"]
    async with connection(request) as conn:
        user = await user_store.user_by_username(conn, username)
    if user is None:
        raise NotFound(f"No user named {username}.")
    policy.require_self_or_site_admin(actor, user)
    return Subject("user", user.username, user_id=user.id)


async def _read(request: web.Request, subject: Subject) -> web.Response:
    async with connection(request) as conn:
        version = await settings_store.current_version(conn, subject)
    return json_response(render_version(subject, version))


async def _history(request: web.Request, subject: Subject) -> web.Response:
    page = page_request(request)
    before_id = page.after_id()
    if before_id is not None and not 0 < before_id <= _MAX_ID:
        raise BadRequest("cursor is not one this server issued.")
    async with connection(request) as conn:
        versions = await settings_store.history(conn, subject, before_id=before_id, limit=page.limit + 1)
    return json_response(page_body(versions, page, lambda v: [v.id], lambda v: render_version(subject, v)))


async def _write(request: web.Request, actor: Actor, subject: Subject) -> web.Response:
    """Insert a new version if `last_id` is still the newest; 201 for a subject's first version."""
    author = policy.signed_in(actor)
    body = await json_body(request, "SettingsUpdate")
    contents: str = body["contents"]
    if len(contents.encode()) > MAX_CONTENTS_BYTES:
        raise Unprocessable.at("/contents", f"must be at most {MAX_CONTENTS_BYTES} bytes in UTF-8")
    if "\x00" in contents:
        raise Unprocessable.at("/contents", "must not contain NUL characters")
    try:
        parsed = await parse_settings(request.app[appkeys.PARSERS], contents, max_json5_bytes=MAX_JSON5_BYTES)
    except InvalidSettings as exc:
        raise Unprocessable.at("/contents", f"must be JSONC for a JSON object: it {exc}") from None
    last_id = int(body["last_id"]) if body["last_id"] is not None else None  # 3.0 is an integer to JSON Schema
    async with transaction(request) as conn:
        await settings_store.lock_subject(conn, subject)
        await _require_cascades_within_limit(conn, subject, len(parsed.encode()))
        version = await settings_store.insert_version(conn, subject, contents, parsed, author.id, last_id)
        if version is None:
            current = await settings_store.current_version(conn, subject)
            current_id = current.id if current else None
            raise Conflict(
                f"These settings changed since the version you edited ({last_id}); the current version is"
                f" {current_id}. Merge your change into it and send its id as last_id.",
                extra={"current_id": current_id},
            )
    return json_response(render_version(subject, version), status=201 if last_id is None else 200)


async def _require_cascades_within_limit(conn: asyncpg.Connection, subject: Subject, parsed_bytes: int) -> None:
    """413 when the new settings would put a cascade holding `subject` over MAX_CASCADE_BYTES."""
    largest = await settings_store.largest_cascade_bytes(conn, subject, parsed_bytes)
    if largest > MAX_CASCADE_BYTES:
        raise PayloadTooLarge(
            f"These settings ({parsed_bytes} bytes as JSON) would make a settings cascade {largest} bytes long;"
            f" a cascade (global, each org of a user, the user) holds at most {MAX_CASCADE_BYTES} bytes.",
            extra={"cascade_bytes": largest, "max_cascade_bytes": MAX_CASCADE_BYTES},
        )


@routes.get("/api/settings/global")
async def get_global_settings(request: web.Request) -> web.Response:
    actor = request_actor(request)
    return await _read(request, _global_subject(actor, write=False))


@routes.put("/api/settings/global")
async def put_global_settings(request: web.Request) -> web.Response:
    actor = request_actor(request)
    return await _write(request, actor, _global_subject(actor, write=True))


@routes.get("/api/settings/global/history")
async def global_settings_history(request: web.Request) -> web.Response:
    actor = request_actor(request)
    return await _history(request, _global_subject(actor, write=False))


@routes.get("/api/orgs/{name}/settings")
async def get_org_settings(request: web.Request) -> web.Response:
    actor = request_actor(request)
    return await _read(request, await _org_subject(request, actor))


@routes.put("/api/orgs/{name}/settings")
async def put_org_settings(request: web.Request) -> web.Response:
    actor = request_actor(request)
    return await _write(request, actor, await _org_subject(request, actor))


@routes.get("/api/orgs/{name}/settings/history")
async def org_settings_history(request: web.Request) -> web.Response:
    actor = request_actor(request)
    return await _history(request, await _org_subject(request, actor))


@routes.get("/api/users/{username}/settings")
async def get_user_settings(request: web.Request) -> web.Response:
    actor = request_actor(request)
    return await _read(request, await _user_subject(request, actor))


@routes.put("/api/users/{username}/settings")
async def put_user_settings(request: web.Request) -> web.Response:
    actor = request_actor(request)
    return await _write(request, actor, await _user_subject(request, actor))


@routes.get("/api/users/{username}/settings/history")
async def user_settings_history(request: web.Request) -> web.Response:
    actor = request_actor(request)
    return await _history(request, await _user_subject(request, actor))


# The cascade and what it enables.


async def _cascade(request: web.Request, member: str | None = None) -> tuple[bytes, list[dict[str, Any]]]:
    """The signed-in user's merged settings as JSON text (only its `member` when that is given)
    and the subjects merged, in order; 409 past MAX_CASCADE_BYTES. Each version's parsed form was
    kept when it was written; one written around the API is parsed (off the event loop) at its
    first use and its parsed form kept, `{}` when it does not parse."""
    user = policy.signed_in(request_actor(request))
    async with connection(request) as conn:
        levels = await settings_store.cascade(conn, user.id, MAX_CASCADE_BYTES)
    subjects = [{"type": level.kind, "name": level.name, "id": level.id} for level in levels]
    total = sum(level.bytes for level in levels)
    if total > MAX_CASCADE_BYTES:
        raise Conflict(
            f"Your settings cascade holds {total} bytes of settings, over the limit of {MAX_CASCADE_BYTES}:"
            " make your own settings or your orgs' smaller, or leave an org.",
            extra={"cascade_bytes": total, "max_cascade_bytes": MAX_CASCADE_BYTES},
        )
    parsed: list[str] = []
    for level in levels:
        if level.parsed is not None:
            parsed.append(level.parsed)
        elif level.id is not None and level.contents is not None:
            parsed.append(await _parse_unparsed(request, level.id, level.contents))
    return await _merge(request, parsed, total, member), subjects


async def _merge(request: web.Request, parsed: list[str], total_bytes: int, member: str | None) -> bytes:
    """registry.cascade.merged_json: here when that is quick, else in a worker process."""
    if total_bytes <= MERGED_ON_LOOP_BYTES:
        return merged_json(parsed, member)
    parsers = request.app[appkeys.PARSERS]
    try:
        return await parsers.run(merged_json, parsed, member)
    except WorkTimeout:  # ~0.2 s at the limit: only a machine far too busy gets here
        raise ServiceUnavailable(
            "Merging your settings took too long; try again shortly.", retry_after=RETRY_AFTER_SECONDS
        ) from None


async def _parse_unparsed(request: web.Request, version_id: int, contents: str) -> str:
    try:
        parsed = await parse_settings(request.app[appkeys.PARSERS], contents, max_json5_bytes=None)
    except InvalidSettings:
        parsed = EMPTY_CONTENTS
    async with connection(request) as conn:
        await settings_store.keep_parsed(conn, version_id, parsed)
    return parsed


@routes.get("/api/user/settings/cascade")
async def settings_cascade(request: web.Request) -> web.Response:
    merged, subjects = await _cascade(request)
    return json_response({"merged": orjson.Fragment(merged), "subjects": subjects})


def render_enabled(request: web.Request, extension: EnabledExtension) -> dict[str, Any]:
    release = None
    if extension.release_id is not None:
        release = {
            "id": extension.release_id,
            "version": extension.version,
            "bundle_url": base_url(request) + static_path(extension.release_id, extension.extension_id, "js"),
            "created_at": extension.released_at,
        }
    return {"extension_id": extension.extension_id, "uuid": extension.uuid, "release": release}


@routes.get("/api/user/extensions")
async def enabled_extensions(request: web.Request) -> web.Response:
    """The extensions the user's cascade enables (`"extensions": {"publisher/name": true}`) that
    exist and are live, with their latest release; the others under `missing`."""
    extensions, _ = await _cascade(request, "extensions")
    wanted = orjson.loads(extensions)
    enabled = sorted(key for key, on in wanted.items() if on is True) if isinstance(wanted, dict) else []
    ids: dict[str, tuple[str, str]] = {}
    for extension_id in enabled:
        match = _EXTENSION_ID.match(extension_id)
        if match is not None:
            ids[extension_id] = (match["publisher"], match["name"])
    async with connection(request) as conn:
        found = await settings_store.enabled_extensions(conn, list(ids.values())) if ids else []
    present = {extension.extension_id.lower() for extension in found}
    return json_response(
        {
            "extensions": [render_enabled(request, e) for e in sorted(found, key=lambda e: e.extension_id.lower())],
            "missing": [extension_id for extension_id in enabled if extension_id.lower() not in present],
        }
    )
