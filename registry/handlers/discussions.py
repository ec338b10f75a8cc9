"""Discussions: threads about code in a repository, markdown comments, reports, mail reply tokens.

* Anyone reads threads and comments; signed-in users (`user:all`) create threads, comment and report.
* A thread's author or a site admin archives or deletes it (soft); an archived thread takes no new
  comments (409); a deleted one is 404 everywhere.
* A comment's author edits it; its author or a site admin deletes it (soft).
* Reports: one per user and comment (a second is 409); only site admins see them, most reported first.
* Mail reply tokens: one live token per (user, thread), shown only to its owner. The incoming-mail
  handler posts `{token, contents}` to /api/discussions/mail-reply, authenticated by the token alone
  (looked up by primary key); a revoked token, a deleted user or a deleted thread cannot post.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import asyncpg
from aiohttp import web

from registry.auth import policy
from registry.auth.actor import request_actor
from registry.domain.actor import Actor
from registry.domain.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from registry.handlers.common import connection, int_param, json_body, transaction
from registry.http import json_response
from registry.pagination import Column, page_body, page_request
from registry.store import discussions as store
from registry.store import package_index as repo_store
from registry.store.discussions import Comment, ReportedComment, Target, Thread

routes = web.RouteTableDef()

MAX_CONTENTS_BYTES = 65536
_NO_STORE = {"Cache-Control": "no-store"}
_TARGET_DEPENDENCIES = (
    ("end_line", "start_line"),
    ("start_character", "start_line"),
    ("end_character", "start_character"),
)


# --- rendering -----------------------------------------------------------------------------------


def render_target(target: Target) -> dict[str, Any]:
    return {"repo": target.repo, **{name: getattr(target, name) for name in store.TARGET_FIELDS}}


def render_thread(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.id,
        "title": thread.title,
        "author": thread.author,
        "created_at": thread.created_at,
        "updated_at": thread.updated_at,
        "archived_at": thread.archived_at,
        "target": render_target(thread.target) if thread.target else None,
    }


def render_comment(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "thread_id": comment.thread_id,
        "author": comment.author,
        "contents": comment.contents,
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
    }


def render_reported(reported: ReportedComment) -> dict[str, Any]:
    return {
        **render_comment(reported.comment),
        "report_count": reported.report_count,
        "reports": [{"reporter": r.reporter, "reason": r.reason} for r in reported.reports],
    }


# --- input checks the schema cannot express ------------------------------------------------------


def _nul_errors(value: Any, pointer: str = "") -> list[dict[str, str]]:
    """PostgreSQL text cannot hold NUL: every string in the body is checked."""
    if isinstance(value, str):
        return [{"pointer": pointer, "message": "must not contain NUL"}] if "\x00" in value else []
    if isinstance(value, Mapping):
        return [e for key, item in value.items() for e in _nul_errors(item, f"{pointer}/{key}")]
    if isinstance(value, list):
        return [e for index, item in enumerate(value) for e in _nul_errors(item, f"{pointer}/{index}")]
    return []


def _contents_errors(body: Mapping[str, Any], pointer: str = "/contents") -> list[dict[str, str]]:
    contents = body.get("contents")
    if isinstance(contents, str) and len(contents.encode()) > MAX_CONTENTS_BYTES:
        return [{"pointer": pointer, "message": f"must be at most {MAX_CONTENTS_BYTES} bytes (UTF-8)"}]
    return []


def _target_errors(target: Mapping[str, Any]) -> list[dict[str, str]]:
    """A range needs its start; it must not end before it starts."""
    errors = []
    for field, needs in _TARGET_DEPENDENCIES:
        if field in target and needs not in target:
            errors.append({"pointer": f"/target/{field}", "message": f"needs {needs}"})
    start_line, end_line = target.get("start_line"), target.get("end_line")
    if start_line is not None and end_line is not None and end_line < start_line:
        errors.append({"pointer": "/target/end_line", "message": "must be at least start_line"})
    start_char, end_char = target.get("start_character"), target.get("end_character")
    one_line = end_line is None or end_line == start_line
    if start_char is not None and end_char is not None and one_line and end_char < start_char:
        errors.append({"pointer": "/target/end_character", "message": "must be at least start_character on one line"})
    return errors


def _check(errors: list[dict[str, str]]) -> None:
    if errors:
        first = errors[0]
        raise Unprocessable(f"The request body is invalid: {first['pointer']} {first['message']}.", errors=errors)


async def _body(request: web.Request, schema: str) -> dict[str, Any]:
    body = await json_body(request, schema)
    _check(_nul_errors(body) + _contents_errors(body))
    return body


def _require_author_or_site_admin(actor: Actor, author_user_id: int, what: str) -> None:
    user = policy.signed_in(actor)
    if user.id != author_user_id and not policy.is_site_admin(actor):
        raise Forbidden(f"Only the author of this {what} or a site admin may do this.")


def _open(thread: Thread) -> None:
    if thread.archived_at is not None:
        raise Conflict(f"Thread {thread.id} is archived; it takes no new comments.")


def _flag(request: web.Request, name: str) -> bool:
    raw = request.query.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise BadRequest(f"{name} must be true or false.")
    return raw in ("true", "1")


def _thread_not_found(thread_id: int) -> NotFound:
    return NotFound(f"No discussion thread {thread_id}.")


async def _locked_thread(conn: asyncpg.Connection, thread_id: int) -> Thread:
    """The live thread, its row locked until the transaction ends (writes to it serialise), or 404."""
    thread = await store.thread_by_id(conn, thread_id, lock=True)
    if thread is None:
        raise _thread_not_found(thread_id)
    return thread


def _comment_not_found(comment_id: int) -> NotFound:
    return NotFound(f"No discussion comment {comment_id}.")


# --- threads -------------------------------------------------------------------------------------


@routes.post("/api/discussions/threads")
async def create_thread(request: web.Request) -> web.Response:
    """A thread, optionally about a range of a file in a known repository, optionally with its first comment."""
    user = policy.signed_in(request_actor(request))
    body = await _body(request, "DiscussionThreadCreate")
    target = body.get("target")
    if target is not None:
        _check(_target_errors(target))
    async with transaction(request) as conn:
        repo = None
        if target is not None:
            repo = await repo_store.repo_by_uri(conn, target["repo"])
            if repo is None:
                raise Unprocessable.at("/target/repo", "names no known repository")
        thread_id = await store.insert_thread(conn, user.id, body["title"])
        if target is not None and repo is not None:
            target_id = await store.insert_target(conn, thread_id, repo.id, target)
            await store.set_thread_target(conn, thread_id, target_id)
        comment = None
        if "contents" in body:
            comment = await store.insert_comment(conn, thread_id, user.id, body["contents"])
        thread = await store.thread_by_id(conn, thread_id)
    assert thread is not None
    rendered = {**render_thread(thread), "comment": render_comment(comment) if comment else None}
    return json_response(rendered, status=201, headers={"Location": f"/api/discussions/threads/{thread.id}"})


@routes.get("/api/discussions/threads")
async def list_threads(request: web.Request) -> web.Response:
    """Threads about `repo` (and `path`), in id order; archived ones only with include_archived."""
    page = page_request(request)
    uri = request.query.get("repo", "").strip()
    if not uri:
        raise BadRequest("repo is required: the URI of the repository whose threads to list.")
    path = request.query.get("path")
    include_archived = _flag(request, "include_archived")
    async with connection(request) as conn:
        repo = await repo_store.repo_by_uri(conn, uri)
        if repo is None:
            raise NotFound(f"No repository {uri}.")
        threads = await store.list_threads(
            conn,
            repo.id,
            path,
            include_archived=include_archived,
            after_id=page.after_id(Column.INT8),
            limit=page.limit + 1,
        )
    return json_response(page_body(threads, page, lambda t: [t.id], render_thread))


@routes.get("/api/discussions/threads/{id}")
async def get_thread(request: web.Request) -> web.Response:
    thread_id = int_param(request, "id")
    async with connection(request) as conn:
        thread = await store.thread_by_id(conn, thread_id)
    if thread is None:
        raise _thread_not_found(thread_id)
    return json_response(render_thread(thread))


@routes.delete("/api/discussions/threads/{id}")
async def delete_thread(request: web.Request) -> web.Response:
    """Soft delete: its author or a site admin."""
    actor = request_actor(request)
    policy.signed_in(actor)
    thread_id = int_param(request, "id")
    async with transaction(request) as conn:
        thread = await _locked_thread(conn, thread_id)
        _require_author_or_site_admin(actor, thread.author_user_id, "thread")
        await store.soft_delete_thread(conn, thread.id)
    return web.Response(status=204)


@routes.post("/api/discussions/threads/{id}/archive")
async def archive_thread(request: web.Request) -> web.Response:
    """Archive (idempotent): its author or a site admin. An archived thread is read-only."""
    actor = request_actor(request)
    policy.signed_in(actor)
    thread_id = int_param(request, "id")
    async with transaction(request) as conn:
        thread = await _locked_thread(conn, thread_id)
        _require_author_or_site_admin(actor, thread.author_user_id, "thread")
        await store.archive_thread(conn, thread.id)
        archived = await store.thread_by_id(conn, thread.id)
    assert archived is not None
    return json_response(render_thread(archived))


# --- comments ------------------------------------------------------------------------------------


@routes.get("/api/discussions/threads/{id}/comments")
async def list_comments(request: web.Request) -> web.Response:
    thread_id = int_param(request, "id")
    page = page_request(request)
    async with connection(request) as conn:
        if await store.thread_by_id(conn, thread_id) is None:
            raise _thread_not_found(thread_id)
        comments = await store.list_comments(conn, thread_id, after_id=page.after_id(Column.INT8), limit=page.limit + 1)
    return json_response(page_body(comments, page, lambda c: [c.id], render_comment))


@routes.post("/api/discussions/threads/{id}/comments")
async def add_comment(request: web.Request) -> web.Response:
    user = policy.signed_in(request_actor(request))
    thread_id = int_param(request, "id")
    body = await _body(request, "DiscussionCommentCreate")
    async with transaction(request) as conn:
        thread = await _locked_thread(conn, thread_id)
        _open(thread)
        comment = await store.insert_comment(conn, thread.id, user.id, body["contents"])
    return json_response(
        render_comment(comment), status=201, headers={"Location": f"/api/discussions/comments/{comment.id}"}
    )


@routes.patch("/api/discussions/comments/{id}")
async def edit_comment(request: web.Request) -> web.Response:
    """Its author only (a site admin deletes, never rewrites); not in an archived thread."""
    user = policy.signed_in(request_actor(request))
    comment_id = int_param(request, "id")
    body = await _body(request, "DiscussionCommentUpdate")
    async with transaction(request) as conn:
        comment = await store.comment_by_id(conn, comment_id, lock=True)
        if comment is None:
            raise _comment_not_found(comment_id)
        if comment.author_user_id != user.id:
            raise Forbidden("Only the author of this comment may edit it.")
        thread = await store.thread_by_id(conn, comment.thread_id)
        if thread is None:
            raise _comment_not_found(comment_id)
        _open(thread)
        await store.update_comment(conn, comment.id, body["contents"])
        edited = await store.comment_by_id(conn, comment.id)
    assert edited is not None
    return json_response(render_comment(edited))


@routes.delete("/api/discussions/comments/{id}")
async def delete_comment(request: web.Request) -> web.Response:
    """Soft delete: its author or a site admin."""
    actor = request_actor(request)
    policy.signed_in(actor)
    comment_id = int_param(request, "id")
    async with transaction(request) as conn:
        comment = await store.comment_by_id(conn, comment_id, lock=True)
        if comment is None:
            raise _comment_not_found(comment_id)
        _require_author_or_site_admin(actor, comment.author_user_id, "comment")
        await store.soft_delete_comment(conn, comment.id)
    return web.Response(status=204)


# --- reports -------------------------------------------------------------------------------------


@routes.post("/api/discussions/comments/{id}/reports")
async def report_comment(request: web.Request) -> web.Response:
    """Any signed-in user reports a comment with a short reason, once per comment (a second is 409)."""
    user = policy.signed_in(request_actor(request))
    comment_id = int_param(request, "id")
    body = await _body(request, "DiscussionReportCreate")
    async with transaction(request) as conn:
        comment = await store.comment_by_id(conn, comment_id, lock=True)
        if comment is None:
            raise _comment_not_found(comment_id)
        if not await store.add_report(conn, comment.id, user.id, body["reason"]):
            raise Conflict(f"You have already reported comment {comment.id}.")
    return web.Response(status=204)


@routes.get("/api/discussions/reported-comments")
async def reported_comments(request: web.Request) -> web.Response:
    """Site admins: reported comments, most reports first (then newest first), with their reports."""
    policy.require_site_admin(request_actor(request))
    page = page_request(request)
    after = page.after_key(Column.INT4, Column.INT8)  # (report count, comment id)
    async with connection(request) as conn:
        reported = await store.most_reported(conn, after=(after[0], after[1]) if after else None, limit=page.limit + 1)
    return json_response(
        page_body(reported, page, lambda r: [r.report_count, r.comment.id], render_reported), headers=_NO_STORE
    )


# --- mail reply tokens ---------------------------------------------------------------------------


@routes.post("/api/discussions/threads/{id}/reply-token")
async def reply_token(request: web.Request) -> web.Response:
    """The caller's live reply token for the thread: 200 with the existing one, else 201 with a new one."""
    user = policy.signed_in(request_actor(request))
    thread_id = int_param(request, "id")
    created = False
    async with transaction(request) as conn:
        # The thread's row lock serialises concurrent requests: one live token per (user, thread).
        thread = await _locked_thread(conn, thread_id)
        _open(thread)
        token = await store.live_reply_token(conn, user.id, thread.id)
        if token is None:
            token = secrets.token_urlsafe(32)
            await store.insert_reply_token(conn, token, user.id, thread.id)
            created = True
    return json_response({"thread_id": thread_id, "token": token}, status=201 if created else 200, headers=_NO_STORE)


@routes.delete("/api/discussions/threads/{id}/reply-token")
async def revoke_reply_token(request: web.Request) -> web.Response:
    """Revoke the caller's reply token for the thread; it can no longer post."""
    user = policy.signed_in(request_actor(request))
    thread_id = int_param(request, "id")
    async with transaction(request) as conn:
        if await store.revoke_reply_tokens(conn, user.id, thread_id) == 0:
            raise NotFound(f"You have no live reply token for thread {thread_id}.")
    return web.Response(status=204)


@routes.post("/api/discussions/mail-reply")
async def mail_reply(request: web.Request) -> web.Response:
    """A comment from an incoming mail, posted as the reply token's user; the token is the credential."""
    body = await _body(request, "DiscussionMailReply")
    async with transaction(request) as conn:
        holder = await store.reply_token_holder(conn, body["token"])
        if holder is None:
            raise Unauthorized("The reply token is not valid: unknown, revoked, or its user is gone.")
        thread = await store.thread_by_id(conn, holder.thread_id, lock=True)
        if thread is None:
            raise _thread_not_found(holder.thread_id)
        _open(thread)
        comment = await store.insert_comment(conn, thread.id, holder.user_id, body["contents"])
    return json_response(
        render_comment(comment), status=201, headers={"Location": f"/api/discussions/comments/{comment.id}"}
    )
