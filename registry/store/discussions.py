"""Discussions: threads (optionally about lines of a file in a repository), markdown comments,
reports on comments, and mail reply tokens.

A thread and its target reference each other (`discussion_threads.target_repo_id` and
`discussion_threads_target_repo.thread_id`): the thread is inserted first, then its target, then the
thread is pointed at the target, in the caller's transaction. Deleted threads and comments are
soft deleted (`deleted_at`) and never returned by these reads.

A report is stored in `discussion_comments.reports` as `"<reporter user id>:<reason>"`, which lets
one report per user and comment be enforced by the UPDATE that appends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Self

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow, Keyset, Timestamped
from registry.domain.page import Column, CursorCodec, Page, PageRequest
from registry.domain.record import Record

_SQL = queries.load(__file__)

TARGET_FIELDS = (
    "path", "branch", "revision", "start_line", "end_line", "start_character", "end_character",
    "lines_before", "lines", "lines_after",
)  # fmt: skip


class Target(Record):
    """What a thread is about: a repository (by URI) and optionally a range of one of its files."""

    repo: str
    path: str | None = None
    branch: str | None = None
    revision: str | None = None
    start_line: int | None = None
    end_line: int | None = None
    start_character: int | None = None
    end_character: int | None = None
    lines_before: str | None = None
    lines: str | None = None
    lines_after: str | None = None

    def fields(self) -> dict[str, Any]:
        """TARGET_FIELDS and their values (the repository aside)."""
        return {name: getattr(self, name) for name in TARGET_FIELDS}


class Thread(Timestamped):
    id: int
    title: str | None
    author: str
    author_user_id: int
    archived_at: datetime | None
    target: Target | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        target = None
        if row["target_id"] is not None:
            target = Target(repo=row["repo"], **{name: row[name] for name in TARGET_FIELDS})
        return cls(
            row["id"], row["title"], row["author"], row["author_user_id"], row["archived_at"], target,
            created_at=row["created_at"], updated_at=row["updated_at"],
        )  # fmt: skip


# Threads and comments in id order (bigint ids); reported comments by (report count, id), descending.
THREADS_BY_ID = Keyset.by_id(Column.INT8)


class Comment(Timestamped):
    id: int
    thread_id: int
    author: str
    author_user_id: int
    contents: str


COMMENTS_BY_ID = Keyset.by_id(Column.INT8)


class Report(Record):
    reporter: str | None  # None when the reporting user is unknown (a report not written by this service)
    reason: str


class ReportedComment(FromRow):
    comment: Comment
    report_count: int
    reports: tuple[Report, ...]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        comment = Comment(**{name: row[name] for name in Comment.__dataclass_fields__})
        reports = tuple(Report(entry["reporter"], entry["reason"]) for entry in row["reports"] or [])
        return cls(comment, row["report_count"], reports)


MOST_REPORTED: Keyset[ReportedComment] = Keyset(
    CursorCodec(Column.INT4, Column.INT8),
    ("after_count", "after_id"),
    lambda item: [item.report_count, item.comment.id],
)


class ReplyTokenHolder(FromRow):
    user_id: int
    thread_id: int


# --- threads -------------------------------------------------------------------------------------


async def insert_thread(conn: asyncpg.Connection, author_id: int, title: str) -> int:
    thread_id: int = await _SQL.insert_thread.fetchval(conn, author_id=author_id, title=title)
    return thread_id


async def insert_target(conn: asyncpg.Connection, thread_id: int, repo_id: int, target: Target) -> int:
    target_id: int = await _SQL.insert_target.fetchval(conn, thread_id=thread_id, repo_id=repo_id, **target.fields())
    return target_id


async def set_thread_target(conn: asyncpg.Connection, thread_id: int, target_id: int) -> None:
    await _SQL.set_thread_target.execute(conn, thread_id=thread_id, target_id=target_id)


async def thread_by_id(conn: asyncpg.Connection, thread_id: int, *, lock: bool = False) -> Thread | None:
    """A thread that is not deleted; `lock` first takes the thread row (FOR NO KEY UPDATE: comments may still
    be inserted meanwhile, their foreign key only needs KEY SHARE)."""
    if lock:
        await _SQL.lock_thread.execute(conn, thread_id=thread_id)
    return await _SQL.thread_by_id.one(conn, Thread, thread_id=thread_id)


async def list_threads(
    conn: asyncpg.Connection, repo_id: int, path: str | None, *, include_archived: bool, page: PageRequest
) -> Page[Thread]:
    """Threads about a repository (and a path of it, when given), in id order."""
    params: dict[str, Any] = {"repo_id": repo_id, "include_archived": include_archived}
    if path is not None:
        params["path"] = path
    query = _SQL.list_threads if path is None else _SQL.list_threads_at_path
    return await query.page(conn, Thread, THREADS_BY_ID, page, **params)


async def archive_thread(conn: asyncpg.Connection, thread_id: int) -> bool:
    """Archive (idempotent: an archived thread keeps its first archived_at)."""
    return await _SQL.archive_thread.changed(conn, thread_id=thread_id) == 1


async def soft_delete_thread(conn: asyncpg.Connection, thread_id: int) -> bool:
    return await _SQL.soft_delete_thread.changed(conn, thread_id=thread_id) == 1


# --- comments ------------------------------------------------------------------------------------


async def insert_comment(conn: asyncpg.Connection, thread_id: int, author_id: int, contents: str) -> Comment:
    return await _SQL.insert_comment.single(conn, Comment, thread_id=thread_id, author_id=author_id, contents=contents)


async def comment_by_id(conn: asyncpg.Connection, comment_id: int, *, lock: bool = False) -> Comment | None:
    """A comment that is not deleted, in a thread that is not deleted; `lock` first takes its row."""
    if lock:
        await _SQL.lock_comment.execute(conn, comment_id=comment_id)
    return await _SQL.comment_by_id.one(conn, Comment, comment_id=comment_id)


async def list_comments(conn: asyncpg.Connection, thread_id: int, page: PageRequest) -> Page[Comment]:
    """A thread's comments that are not deleted, in id order."""
    return await _SQL.list_comments.page(conn, Comment, COMMENTS_BY_ID, page, thread_id=thread_id)


async def update_comment(conn: asyncpg.Connection, comment_id: int, contents: str) -> bool:
    return await _SQL.update_comment.changed(conn, comment_id=comment_id, contents=contents) == 1


async def soft_delete_comment(conn: asyncpg.Connection, comment_id: int) -> bool:
    return await _SQL.soft_delete_comment.changed(conn, comment_id=comment_id) == 1


# --- reports -------------------------------------------------------------------------------------


async def add_report(conn: asyncpg.Connection, comment_id: int, reporter_id: int, reason: str) -> bool:
    """Append a report; False when this user already reported the comment (or it is gone)."""
    return await _SQL.add_report.changed(conn, comment_id=comment_id, reporter=str(reporter_id), reason=reason) == 1


async def most_reported(conn: asyncpg.Connection, page: PageRequest) -> Page[ReportedComment]:
    """Reported comments (not deleted, in threads not deleted), most reports first, then newest first."""
    return await _SQL.most_reported.page(conn, ReportedComment, MOST_REPORTED, page)


# --- mail reply tokens ---------------------------------------------------------------------------


async def live_reply_token(conn: asyncpg.Connection, user_id: int, thread_id: int) -> str | None:
    """The user's unrevoked reply token for the thread (looked up by owner, never by value)."""
    token: str | None = await _SQL.live_reply_token.fetchval(conn, user_id=user_id, thread_id=thread_id)
    return token


async def insert_reply_token(conn: asyncpg.Connection, token: str, user_id: int, thread_id: int) -> None:
    await _SQL.insert_reply_token.execute(conn, token=token, user_id=user_id, thread_id=thread_id)


async def revoke_reply_tokens(conn: asyncpg.Connection, user_id: int, thread_id: int) -> int:
    """Revoke the user's live reply tokens for the thread; how many were live."""
    return await _SQL.revoke_reply_tokens.changed(conn, user_id=user_id, thread_id=thread_id)


async def revoke_all_reply_tokens(conn: asyncpg.Connection, user_id: int) -> int:
    """Revoke every live reply token of the user, in every thread (their password changed)."""
    return await _SQL.revoke_all_reply_tokens.changed(conn, user_id=user_id)


async def reply_token_holder(conn: asyncpg.Connection, token: str) -> ReplyTokenHolder | None:
    """Who a live reply token belongs to (its user not deleted), by primary key; the row is locked
    (FOR SHARE) so a concurrent revocation waits for the reply being posted with it."""
    return await _SQL.reply_token_holder.one(conn, ReplyTokenHolder, token=token)
