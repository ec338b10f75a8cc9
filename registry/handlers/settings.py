"""Settings routes: global, org and user settings (current, history, write), a user's cascade and
the extensions it enables. The rules are in registry.services.settings.

A subject is resolved (and the actor authorized for it) before the body or the page is read, so
that an anonymous or unauthorized client learns nothing from a malformed request.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from registry.auth.authentication import request_actor
from registry.handlers.common import json_body, services
from registry.handlers.paging import page_request
from registry.http import json_response
from registry.public_url import base_url
from registry.store.settings import Subject
from registry.views.common import page_json
from registry.views.settings import render_cascade_level, render_enabled, render_version

routes = web.RouteTableDef()


async def _subject(request: web.Request, *, write: bool) -> Subject:
    """The subject the path names: the site, an org (`name`) or a user (`username`)."""
    svc = services(request).settings
    actor = request_actor(request)
    if "name" in request.match_info:
        return await svc.org_subject(actor, request.match_info["name"])
    if "username" in request.match_info:
        return await svc.user_subject(actor, request.match_info["username"])
    return svc.global_subject(actor, write=write)


@routes.get("/api/settings/global")
@routes.get("/api/orgs/{name}/settings")
@routes.get("/api/users/{username}/settings")
async def read_settings(request: web.Request) -> web.Response:
    subject = await _subject(request, write=False)
    version = await services(request).settings.current(subject)
    return json_response(render_version(subject, version))


@routes.get("/api/settings/global/history")
@routes.get("/api/orgs/{name}/settings/history")
@routes.get("/api/users/{username}/settings/history")
async def settings_history(request: web.Request) -> web.Response:
    subject = await _subject(request, write=False)
    page = await services(request).settings.history(subject, page_request(request))
    return json_response(page_json(page, lambda version: render_version(subject, version)))


@routes.put("/api/settings/global")
@routes.put("/api/orgs/{name}/settings")
@routes.put("/api/users/{username}/settings")
async def write_settings(request: web.Request) -> web.Response:
    """A new version if `last_id` is still the newest; 201 for a subject's first version."""
    subject = await _subject(request, write=True)
    body = await json_body(request, "SettingsUpdate")
    last_id = int(body["last_id"]) if body["last_id"] is not None else None  # 3.0 is an integer to JSON Schema
    version = await services(request).settings.write(request_actor(request), subject, body["contents"], last_id)
    return json_response(render_version(subject, version), status=201 if last_id is None else 200)


@routes.get("/api/user/settings/cascade")
async def settings_cascade(request: web.Request) -> web.Response:
    cascade = await services(request).settings.cascade(request_actor(request))
    levels = [render_cascade_level(level) for level in cascade.levels]
    return json_response({"merged": orjson.Fragment(cascade.merged), "subjects": levels})


@routes.get("/api/user/extensions")
async def enabled_extensions(request: web.Request) -> web.Response:
    """The extensions the user's cascade enables that exist and are live; the others under `missing`."""
    enabled = await services(request).settings.enabled_extensions(request_actor(request))
    # the public URL is needed (and may be refused, 400) only when some bundle URL is written
    base = base_url(request) if any(found.release_id is not None for found in enabled.found) else ""
    return json_response(
        {"extensions": [render_enabled(found, base) for found in enabled.found], "missing": enabled.missing}
    )
