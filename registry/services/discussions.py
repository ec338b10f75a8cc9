"""Discussions: threads about code in a repository, markdown comments, reports, mail reply tokens.

* Anyone reads threads and comments; signed-in users (`user:all`) create threads, comment and report.
* A thread's author or a site admin archives or deletes it (soft); an archived thread takes no new
  comments (`ThreadArchived`); a deleted one is not found anywhere.
* A comment's author edits it; its author or a site admin deletes it (soft).
* Reports: one per user and comment (a second is `AlreadyReported`); only site admins see them,
  most reported first.
* Mail reply tokens: one live token per (user, thread), shown only to its owner. The incoming-mail
  handler posts `{token, contents}`, authenticated by the token alone (looked up by primary key);
  a revoked token, a deleted user or a deleted thread cannot post.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from registry.auth import policy
from registry.db.database import Database
from registry.domain.actor import Actor
from registry.domain.errors import Conflict, NotFound, Unauthorized, Unprocessable
from registry.domain.page import Page, PageRequest
from registry.domain.record import Record
from registry.services import loaders
from registry.store import discussions as store
from registry.store import package_index as repo_store
from registry.store.discussions import Comment, ReportedComment, Target, Thread

MAX_CONTENTS_BYTES = 65536
_TARGET_DEPENDENCIES = (
    ("end_line", "start_line"),
    ("start_character", "start_line"),
    ("end_character", "start_character"),
)


class ThreadArchived(Conflict):
    def __init__(self, thread_id: int) -> None:
        super().__init__(f"Thread {thread_id} is archived; it takes no new comments.")


class AlreadyReported(Conflict):
    def __init__(self, comment_id: int) -> None:
        super().__init__(f"You have already reported comment {comment_id}.")


class InvalidDiscussion(Unprocessable):
    """Contents or a target breaking a rule the body's schema cannot express."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        first = errors[0]
        super().__init__(f"The request body is invalid: {first['pointer']} {first['message']}.", errors=errors)


class NewThread(Record):
    thread: Thread
    comment: Comment | None  # the first comment, when one was given


class ReplyToken(Record):
    thread_id: int
    token: str
    created: bool  # False: the caller's live token, already issued


def contents_errors(contents: str | None, pointer: str = "/contents") -> list[dict[str, str]]:
    if contents is not None and len(contents.encode()) > MAX_CONTENTS_BYTES:
        return [{"pointer": pointer, "message": f"must be at most {MAX_CONTENTS_BYTES} bytes (UTF-8)"}]
    return []


def target_errors(target: Target) -> list[dict[str, str]]:
    """A range needs its start; it must not end before it starts."""
    errors = []
    for field, needs in _TARGET_DEPENDENCIES:
        if getattr(target, field) is not None and getattr(target, needs) is None:
            errors.append({"pointer": f"/target/{field}", "message": f"needs {needs}"})
    start_line, end_line = target.start_line, target.end_line
    if start_line is not None and end_line is not None and end_line < start_line:
        errors.append({"pointer": "/target/end_line", "message": "must be at least start_line"})
    start_char, end_char = target.start_character, target.end_character
    one_line = end_line is None or end_line == start_line
    if start_char is not None and end_char is not None and one_line and end_char < start_char:
        errors.append({"pointer": "/target/end_character", "message": "must be at least start_character on one line"})
    return errors


def _check(errors: list[dict[str, str]]) -> None:
    if errors:
        raise InvalidDiscussion(errors)


def _open(thread: Thread) -> Thread:
    if thread.archived_at is not None:
        raise ThreadArchived(thread.id)
    return thread


@dataclass(eq=False)
class DiscussionsService:
    db: Database

    # Threads.

    async def create_thread(
        self, actor: Actor, title: str, *, target: Target | None = None, contents: str | None = None
    ) -> NewThread:
        """A thread, optionally about a range of a file in a known repository, optionally with its first comment."""
        user = policy.signed_in(actor)
        _check(contents_errors(contents))
        if target is not None:
            _check(target_errors(target))
        async with self.db.transaction() as conn:
            repo = None if target is None else await repo_store.repo_by_uri(conn, target.repo)
            if target is not None and repo is None:
                raise Unprocessable.at("/target/repo", "names no known repository")
            thread_id = await store.insert_thread(conn, user.id, title)
            if target is not None and repo is not None:
                await store.set_thread_target(
                    conn, thread_id, await store.insert_target(conn, thread_id, repo.id, target)
                )
            comment = None if contents is None else await store.insert_comment(conn, thread_id, user.id, contents)
            thread = await loaders.discussion_thread(conn, thread_id)
        return NewThread(thread, comment)

    async def threads(
        self, repo_uri: str, path: str | None, *, include_archived: bool, page: PageRequest
    ) -> Page[Thread]:
        """Threads about a repository (and a path of it), in id order; archived ones only when asked."""
        async with self.db.reading() as conn:
            repo = await loaders.repo_named(conn, repo_uri)
            return await store.list_threads(conn, repo.id, path, include_archived=include_archived, page=page)

    async def thread(self, thread_id: int) -> Thread:
        return await self.db.read(loaders.discussion_thread, thread_id)

    @asynccontextmanager
    async def _moderating(self, actor: Actor, thread_id: int) -> AsyncIterator[tuple[asyncpg.Connection, Thread]]:
        """A transaction holding the thread's row, once the policy has let `actor` moderate it."""
        policy.signed_in(actor)
        async with self.db.transaction() as conn:
            thread = await loaders.locked_discussion_thread(conn, thread_id)
            policy.require_thread_moderator(actor, thread)
            yield conn, thread

    async def delete_thread(self, actor: Actor, thread_id: int) -> None:
        """Soft delete: its author or a site admin."""
        async with self._moderating(actor, thread_id) as (conn, thread):
            await store.soft_delete_thread(conn, thread.id)

    async def archive_thread(self, actor: Actor, thread_id: int) -> Thread:
        """Archive (idempotent): its author or a site admin. An archived thread is read-only."""
        async with self._moderating(actor, thread_id) as (conn, thread):
            await store.archive_thread(conn, thread.id)
            return await loaders.discussion_thread(conn, thread.id)

    # Comments.

    async def comments(self, thread_id: int, page: PageRequest) -> Page[Comment]:
        async with self.db.reading() as conn:
            await loaders.discussion_thread(conn, thread_id)
            return await store.list_comments(conn, thread_id, page)

    async def add_comment(self, actor: Actor, thread_id: int, contents: str) -> Comment:
        user = policy.signed_in(actor)
        _check(contents_errors(contents))
        async with self.db.transaction() as conn:
            thread = _open(await loaders.locked_discussion_thread(conn, thread_id))
            return await store.insert_comment(conn, thread.id, user.id, contents)

    async def edit_comment(self, actor: Actor, comment_id: int, contents: str) -> Comment:
        """Its author only (a site admin deletes, never rewrites); not in an archived thread."""
        policy.signed_in(actor)
        _check(contents_errors(contents))
        async with self.db.transaction() as conn:
            comment = await loaders.locked_discussion_comment(conn, comment_id)
            policy.require_comment_editor(actor, comment)
            thread = await store.thread_by_id(conn, comment.thread_id)
            if thread is None:
                raise loaders.comment_not_found(comment_id)
            _open(thread)
            await store.update_comment(conn, comment.id, contents)
            edited = await store.comment_by_id(conn, comment.id)
        if edited is None:  # the row is locked and live: it cannot have gone
            raise loaders.comment_not_found(comment_id)
        return edited

    async def delete_comment(self, actor: Actor, comment_id: int) -> None:
        """Soft delete: its author or a site admin."""
        policy.signed_in(actor)
        async with self.db.transaction() as conn:
            comment = await loaders.locked_discussion_comment(conn, comment_id)
            policy.require_comment_deleter(actor, comment)
            await store.soft_delete_comment(conn, comment.id)

    # Reports.

    async def report_comment(self, actor: Actor, comment_id: int, reason: str) -> None:
        """Any signed-in user reports a comment with a short reason, once per comment."""
        user = policy.signed_in(actor)
        async with self.db.transaction() as conn:
            comment = await loaders.locked_discussion_comment(conn, comment_id)
            if not await store.add_report(conn, comment.id, user.id, reason):
                raise AlreadyReported(comment.id)

    async def reported_comments(self, actor: Actor, page: PageRequest) -> Page[ReportedComment]:
        """Site admins: reported comments, most reports first (then newest first), with their reports."""
        policy.require_site_admin(actor)
        return await self.db.read(store.most_reported, page)

    # Mail reply tokens.

    async def reply_token(self, actor: Actor, thread_id: int) -> ReplyToken:
        """The caller's live reply token for an open thread, issued when it has none."""
        user = policy.signed_in(actor)
        async with self.db.transaction() as conn:
            # The thread's row lock serialises concurrent requests: one live token per (user, thread).
            thread = _open(await loaders.locked_discussion_thread(conn, thread_id))
            token = await store.live_reply_token(conn, user.id, thread.id)
            if token is not None:
                return ReplyToken(thread_id, token, created=False)
            token = secrets.token_urlsafe(32)
            await store.insert_reply_token(conn, token, user.id, thread.id)
        return ReplyToken(thread_id, token, created=True)

    async def revoke_reply_token(self, actor: Actor, thread_id: int) -> None:
        """Revoke the caller's reply token for the thread; it can no longer post."""
        user = policy.signed_in(actor)
        async with self.db.transaction() as conn:
            if await store.revoke_reply_tokens(conn, user.id, thread_id) == 0:
                raise NotFound(f"You have no live reply token for thread {thread_id}.")

    async def mail_reply(self, token: str, contents: str) -> Comment:
        """A comment from an incoming mail, posted as the reply token's user; the token is the credential."""
        _check(contents_errors(contents))
        async with self.db.transaction() as conn:
            holder = await store.reply_token_holder(conn, token)
            if holder is None:
                raise Unauthorized("The reply token is not valid: unknown, revoked, or its user is gone.")
            thread = _open(await loaders.locked_discussion_thread(conn, holder.thread_id))
            return await store.insert_comment(conn, thread.id, holder.user_id, contents)
