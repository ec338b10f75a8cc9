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
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow
from registry.domain.page import Column, CursorCodec, Page, PageRequest

_SQL = queries.load(__file__)

TARGET_FIELDS = (
    "path", "branch", "revision", "start_line", "end_line", "start_character", "end_character",
    "lines_before", "lines", "lines_after",
)  # fmt: skip

# Threads and comments in id order (bigint ids); reported comments by (report count, id), descending.
THREADS_BY_ID = CursorCodec(Column.INT8)
COMMENTS_BY_ID = CursorCodec(Column.INT8)
MOST_REPORTED = CursorCodec(Column.INT4, Column.INT8)


@dataclass(frozen=True)
class Target:
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


@dataclass(frozen=True)
class Thread(FromRow):
    id: int
    title: str | None
    author: str
    author_user_id: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    target: Target | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        target = None
        if row["target_id"] is not None:
            target = Target(repo=row["repo"], **{name: row[name] for name in TARGET_FIELDS})
        return cls(
            row["id"], row["title"], row["author"], row["author_user_id"], row["created_at"], row["updated_at"],
            row["archived_at"], target,
        )  # fmt: skip


@dataclass(frozen=True)
class Comment(FromRow):
    id: int
    thread_id: int
    author: str
    author_user_id: int
    contents: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Report:
    reporter: str | None  # None when the reporting user is unknown (a report not written by this service)
    reason: str


@dataclass(frozen=True)
class ReportedComment(FromRow):
    comment: Comment
    report_count: int
    reports: tuple[Report, ...]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        comment = Comment(**{name: row[name] for name in Comment.__dataclass_fields__})
        reports = tuple(Report(entry["reporter"], entry["reason"]) for entry in row["reports"] or [])
        return cls(comment, row["report_count"], reports)


@dataclass(frozen=True)
class ReplyTokenHolder(FromRow):
    user_id: int
    thread_id: int


def _updated(status: str) -> int:
    """How many rows an UPDATE's status ("UPDATE n") says it changed."""
    return int(status.split()[-1])


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
    after = THREADS_BY_ID.after(page)
    params: dict[str, Any] = {"repo_id": repo_id, "include_archived": include_archived, "limit": page.limit + 1}
    params["after_id"] = after[0] if after else 0
    if path is None:
        threads = await _SQL.list_threads.all(conn, Thread, **params)
    else:
        threads = await _SQL.list_threads_at_path.all(conn, Thread, path=path, **params)
    return THREADS_BY_ID.page(threads, page, lambda thread: [thread.id])


async def archive_thread(conn: asyncpg.Connection, thread_id: int) -> bool:
    """Archive (idempotent: an archived thread keeps its first archived_at)."""
    return _updated(await _SQL.archive_thread.execute(conn, thread_id=thread_id)) == 1


async def soft_delete_thread(conn: asyncpg.Connection, thread_id: int) -> bool:
    return _updated(await _SQL.soft_delete_thread.execute(conn, thread_id=thread_id)) == 1


# --- comments ------------------------------------------------------------------------------------


async def insert_comment(conn: asyncpg.Connection, thread_id: int, author_id: int, contents: str) -> Comment:
    comment = await _SQL.insert_comment.one(conn, Comment, thread_id=thread_id, author_id=author_id, contents=contents)
    if comment is None:  # an INSERT … RETURNING always returns its row
        raise RuntimeError("insert_comment returned no row")
    return comment


async def comment_by_id(conn: asyncpg.Connection, comment_id: int, *, lock: bool = False) -> Comment | None:
    """A comment that is not deleted, in a thread that is not deleted; `lock` first takes its row."""
    if lock:
        await _SQL.lock_comment.execute(conn, comment_id=comment_id)
    return await _SQL.comment_by_id.one(conn, Comment, comment_id=comment_id)


async def list_comments(conn: asyncpg.Connection, thread_id: int, page: PageRequest) -> Page[Comment]:
    """A thread's comments that are not deleted, in id order."""
    after = COMMENTS_BY_ID.after(page)
    comments = await _SQL.list_comments.all(
        conn, Comment, thread_id=thread_id, after_id=after[0] if after else 0, limit=page.limit + 1
    )
    return COMMENTS_BY_ID.page(comments, page, lambda comment: [comment.id])


async def update_comment(conn: asyncpg.Connection, comment_id: int, contents: str) -> bool:
    return _updated(await _SQL.update_comment.execute(conn, comment_id=comment_id, contents=contents)) == 1


async def soft_delete_comment(conn: asyncpg.Connection, comment_id: int) -> bool:
    return _updated(await _SQL.soft_delete_comment.execute(conn, comment_id=comment_id)) == 1


# --- reports -------------------------------------------------------------------------------------


async def add_report(conn: asyncpg.Connection, comment_id: int, reporter_id: int, reason: str) -> bool:
    """Append a report; False when this user already reported the comment (or it is gone)."""
    status = await _SQL.add_report.execute(conn, comment_id=comment_id, reporter=str(reporter_id), reason=reason)
    return _updated(status) == 1


async def most_reported(conn: asyncpg.Connection, page: PageRequest) -> Page[ReportedComment]:
    """Reported comments (not deleted, in threads not deleted), most reports first, then newest first."""
    after = MOST_REPORTED.after(page)
    reported = await _SQL.most_reported.all(
        conn,
        ReportedComment,
        after_count=after[0] if after else None,
        after_id=after[1] if after else None,
        limit=page.limit + 1,
    )
    return MOST_REPORTED.page(reported, page, lambda item: [item.report_count, item.comment.id])


# --- mail reply tokens ---------------------------------------------------------------------------


async def live_reply_token(conn: asyncpg.Connection, user_id: int, thread_id: int) -> str | None:
    """The user's unrevoked reply token for the thread (looked up by owner, never by value)."""
    token: str | None = await _SQL.live_reply_token.fetchval(conn, user_id=user_id, thread_id=thread_id)
    return token


async def insert_reply_token(conn: asyncpg.Connection, token: str, user_id: int, thread_id: int) -> None:
    await _SQL.insert_reply_token.execute(conn, token=token, user_id=user_id, thread_id=thread_id)


async def revoke_reply_tokens(conn: asyncpg.Connection, user_id: int, thread_id: int) -> int:
    """Revoke the user's live reply tokens for the thread; how many were live."""
    return _updated(await _SQL.revoke_reply_tokens.execute(conn, user_id=user_id, thread_id=thread_id))


async def revoke_all_reply_tokens(conn: asyncpg.Connection, user_id: int) -> int:
    """Revoke every live reply token of the user, in every thread (their password changed)."""
    return _updated(await _SQL.revoke_all_reply_tokens.execute(conn, user_id=user_id))


async def reply_token_holder(conn: asyncpg.Connection, token: str) -> ReplyTokenHolder | None:
    """Who a live reply token belongs to (its user not deleted), by primary key; the row is locked
    (FOR SHARE) so a concurrent revocation waits for the reply being posted with it."""
    return await _SQL.reply_token_holder.one(conn, ReplyTokenHolder, token=token)
