"""Discussion routes: threads, comments, reports and mail reply tokens. The rules are in
registry.services.discussions.

Where a route needs a signed-in user, that is checked before the body is read, so that an
anonymous client is told to sign in (401) whatever it sent.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from registry.domain.actor import Actor
from registry.domain.errors import BadRequest
from registry.handlers.common import int_param, json_body, no_content, services, signed_in_actor, site_admin_actor
from registry.handlers.paging import page_request
from registry.http import json_response
from registry.store.discussions import TARGET_FIELDS, Target
from registry.views.common import page_json
from registry.views.discussions import render_comment, render_reported, render_thread

routes = web.RouteTableDef()

_NO_STORE = {"Cache-Control": "no-store"}


def _flag(request: web.Request, name: str) -> bool:
    raw = request.query.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise BadRequest(f"{name} must be true or false.")
    return raw in ("true", "1")


async def _signed_in_input(request: web.Request, schema: str) -> tuple[Actor, int, dict[str, Any]]:
    """The signed-in actor (refused first, whatever was sent), then the path's id and the body."""
    actor = signed_in_actor(request)
    return actor, int_param(request, "id"), await json_body(request, schema)


def _created_comment(comment_json: dict[str, object], comment_id: int) -> web.Response:
    return json_response(comment_json, status=201, headers={"Location": f"/api/discussions/comments/{comment_id}"})


# --- threads -------------------------------------------------------------------------------------


@routes.post("/api/discussions/threads")
async def create_thread(request: web.Request) -> web.Response:
    """A thread, optionally about a range of a file in a known repository, optionally with its first comment."""
    actor = signed_in_actor(request)
    body = await json_body(request, "DiscussionThreadCreate")
    given = body.get("target")
    target = None if given is None else Target(given["repo"], **{name: given.get(name) for name in TARGET_FIELDS})
    svc = services(request).discussions
    created = await svc.create_thread(actor, body["title"], target=target, contents=body.get("contents"))
    comment = render_comment(created.comment) if created.comment else None
    headers = {"Location": f"/api/discussions/threads/{created.thread.id}"}
    return json_response({**render_thread(created.thread), "comment": comment}, status=201, headers=headers)


@routes.get("/api/discussions/threads")
async def list_threads(request: web.Request) -> web.Response:
    """Threads about `repo` (and `path`), in id order; archived ones only with include_archived."""
    page = page_request(request)
    uri = request.query.get("repo", "").strip()
    if not uri:
        raise BadRequest("repo is required: the URI of the repository whose threads to list.")
    path, include_archived = request.query.get("path"), _flag(request, "include_archived")
    threads = await services(request).discussions.threads(uri, path, include_archived=include_archived, page=page)
    return json_response(page_json(threads, render_thread))


@routes.get("/api/discussions/threads/{id}")
async def get_thread(request: web.Request) -> web.Response:
    thread_id = int_param(request, "id")
    return json_response(render_thread(await services(request).discussions.thread(thread_id)))


@routes.delete("/api/discussions/threads/{id}")
async def delete_thread(request: web.Request) -> web.Response:
    """Soft delete: its author or a site admin."""
    actor = signed_in_actor(request)
    return await no_content(services(request).discussions.delete_thread(actor, int_param(request, "id")))


@routes.post("/api/discussions/threads/{id}/archive")
async def archive_thread(request: web.Request) -> web.Response:
    """Archive (idempotent): its author or a site admin. An archived thread is read-only."""
    actor = signed_in_actor(request)
    thread = await services(request).discussions.archive_thread(actor, int_param(request, "id"))
    return json_response(render_thread(thread))


# --- comments ------------------------------------------------------------------------------------


@routes.get("/api/discussions/threads/{id}/comments")
async def list_comments(request: web.Request) -> web.Response:
    thread_id = int_param(request, "id")
    comments = await services(request).discussions.comments(thread_id, page_request(request))
    return json_response(page_json(comments, render_comment))


@routes.post("/api/discussions/threads/{id}/comments")
async def add_comment(request: web.Request) -> web.Response:
    actor, thread_id, body = await _signed_in_input(request, "DiscussionCommentCreate")
    comment = await services(request).discussions.add_comment(actor, thread_id, body["contents"])
    return _created_comment(render_comment(comment), comment.id)


@routes.patch("/api/discussions/comments/{id}")
async def edit_comment(request: web.Request) -> web.Response:
    """Its author only (a site admin deletes, never rewrites); not in an archived thread."""
    actor, comment_id, body = await _signed_in_input(request, "DiscussionCommentUpdate")
    comment = await services(request).discussions.edit_comment(actor, comment_id, body["contents"])
    return json_response(render_comment(comment))


@routes.delete("/api/discussions/comments/{id}")
async def delete_comment(request: web.Request) -> web.Response:
    """Soft delete: its author or a site admin."""
    actor = signed_in_actor(request)
    return await no_content(services(request).discussions.delete_comment(actor, int_param(request, "id")))


# --- reports -------------------------------------------------------------------------------------


@routes.post("/api/discussions/comments/{id}/reports")
async def report_comment(request: web.Request) -> web.Response:
    """Any signed-in user reports a comment with a short reason, once per comment (a second is 409)."""
    actor, comment_id, body = await _signed_in_input(request, "DiscussionReportCreate")
    return await no_content(services(request).discussions.report_comment(actor, comment_id, body["reason"]))


@routes.get("/api/discussions/reported-comments")
async def reported_comments(request: web.Request) -> web.Response:
    """Site admins: reported comments, most reports first (then newest first), with their reports."""
    actor = site_admin_actor(request)
    reported = await services(request).discussions.reported_comments(actor, page_request(request))
    return json_response(page_json(reported, render_reported), headers=_NO_STORE)


# --- mail reply tokens ---------------------------------------------------------------------------


@routes.post("/api/discussions/threads/{id}/reply-token")
async def reply_token(request: web.Request) -> web.Response:
    """The caller's live reply token for the thread: 200 with the existing one, else 201 with a new one."""
    actor = signed_in_actor(request)
    issued = await services(request).discussions.reply_token(actor, int_param(request, "id"))
    body = {"thread_id": issued.thread_id, "token": issued.token}
    return json_response(body, status=201 if issued.created else 200, headers=_NO_STORE)


@routes.delete("/api/discussions/threads/{id}/reply-token")
async def revoke_reply_token(request: web.Request) -> web.Response:
    """Revoke the caller's reply token for the thread; it can no longer post."""
    actor = signed_in_actor(request)
    return await no_content(services(request).discussions.revoke_reply_token(actor, int_param(request, "id")))


@routes.post("/api/discussions/mail-reply")
async def mail_reply(request: web.Request) -> web.Response:
    """A comment from an incoming mail, posted as the reply token's user; the token is the credential."""
    body = await json_body(request, "DiscussionMailReply")
    comment = await services(request).discussions.mail_reply(body["token"], body["contents"])
    return _created_comment(render_comment(comment), comment.id)
