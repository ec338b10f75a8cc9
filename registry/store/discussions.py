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
from typing import Any

import asyncpg

TARGET_FIELDS = (
    "path", "branch", "revision", "start_line", "end_line", "start_character", "end_character",
    "lines_before", "lines", "lines_after",
)  # fmt: skip


@dataclass(frozen=True)
class Target:
    repo: str
    path: str | None
    branch: str | None
    revision: str | None
    start_line: int | None
    end_line: int | None
    start_character: int | None
    end_character: int | None
    lines_before: str | None
    lines: str | None
    lines_after: str | None


@dataclass(frozen=True)
class Thread:
    id: int
    title: str | None
    author: str
    author_user_id: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    target: Target | None


@dataclass(frozen=True)
class Comment:
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
class ReportedComment:
    comment: Comment
    report_count: int
    reports: tuple[Report, ...]


@dataclass(frozen=True)
class ReplyTokenHolder:
    user_id: int
    thread_id: int


_THREAD_SELECT = (
    "SELECT t.id, t.title, u.username::text AS author, t.author_user_id, t.created_at, t.updated_at, t.archived_at,"
    "       tr.id AS target_id, r.uri::text AS repo, tr.path, tr.branch, tr.revision, tr.start_line, tr.end_line,"
    "       tr.start_character, tr.end_character, tr.lines_before, tr.lines, tr.lines_after"
    "  FROM discussion_threads t"
    "  JOIN users u ON u.id = t.author_user_id"
    "  LEFT JOIN discussion_threads_target_repo tr ON tr.id = t.target_repo_id"
    "  LEFT JOIN repo r ON r.id = tr.repo_id"
)

_COMMENT_COLUMNS = (
    "c.id, c.thread_id, u.username::text AS author, c.author_user_id, c.contents, c.created_at, c.updated_at"
)


def _thread(row: asyncpg.Record) -> Thread:
    target = None
    if row["target_id"] is not None:
        target = Target(repo=row["repo"], **{name: row[name] for name in TARGET_FIELDS})
    return Thread(
        row["id"], row["title"], row["author"], row["author_user_id"], row["created_at"], row["updated_at"],
        row["archived_at"], target,
    )  # fmt: skip


def _comment(row: asyncpg.Record) -> Comment:
    return Comment(
        row["id"], row["thread_id"], row["author"], row["author_user_id"], row["contents"], row["created_at"],
        row["updated_at"],
    )  # fmt: skip


# --- threads -------------------------------------------------------------------------------------


async def insert_thread(conn: asyncpg.Connection, author_id: int, title: str) -> int:
    thread_id: int = await conn.fetchval(
        "-- source: registry/store/discussions.py:insert_thread\n"
        "INSERT INTO discussion_threads (author_user_id, title) VALUES ($1, $2) RETURNING id",
        author_id,
        title,
    )
    return thread_id


async def insert_target(conn: asyncpg.Connection, thread_id: int, repo_id: int, target: Mapping[str, Any]) -> int:
    """The thread's target; `target` holds any of TARGET_FIELDS (absent ones are NULL)."""
    target_id: int = await conn.fetchval(
        "-- source: registry/store/discussions.py:insert_target\n"
        "INSERT INTO discussion_threads_target_repo (thread_id, repo_id, path, branch, revision, start_line, end_line,"
        "  start_character, end_character, lines_before, lines, lines_after)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        thread_id,
        repo_id,
        *(target.get(name) for name in TARGET_FIELDS),
    )
    return target_id


async def set_thread_target(conn: asyncpg.Connection, thread_id: int, target_id: int) -> None:
    await conn.execute(
        "-- source: registry/store/discussions.py:set_thread_target\n"
        "UPDATE discussion_threads SET target_repo_id = $2 WHERE id = $1",
        thread_id,
        target_id,
    )


async def thread_by_id(conn: asyncpg.Connection, thread_id: int, *, lock: bool = False) -> Thread | None:
    """A thread that is not deleted; `lock` takes the thread row (FOR NO KEY UPDATE: comments may still
    be inserted meanwhile, their foreign key only needs KEY SHARE)."""
    row = await conn.fetchrow(
        f"-- source: registry/store/discussions.py:thread_by_id\n{_THREAD_SELECT}"
        " WHERE t.id = $1 AND t.deleted_at IS NULL" + (" FOR NO KEY UPDATE OF t" if lock else ""),
        thread_id,
    )
    return _thread(row) if row else None


async def list_threads(
    conn: asyncpg.Connection,
    repo_id: int,
    path: str | None,
    *,
    include_archived: bool,
    after_id: int | None,
    limit: int,
) -> list[Thread]:
    """Threads about a repository (and a path of it), in id order, through
    `discussion_threads_target_repo_repo_id_path_idx`. Only module constants are formatted in."""
    path_filter = "tr.path = $5" if path is not None else "$5::text IS NULL"
    rows = await conn.fetch(
        f"-- source: registry/store/discussions.py:list_threads\n{_THREAD_SELECT}"
        f" WHERE tr.repo_id = $1 AND {path_filter} AND t.deleted_at IS NULL"
        "   AND ($2 OR t.archived_at IS NULL) AND t.id > $3"
        " ORDER BY t.id LIMIT $4",
        repo_id,
        include_archived,
        after_id or 0,
        limit,
        path,
    )
    return [_thread(row) for row in rows]


async def archive_thread(conn: asyncpg.Connection, thread_id: int) -> bool:
    """Archive (idempotent: an archived thread keeps its first archived_at)."""
    status = await conn.execute(
        "-- source: registry/store/discussions.py:archive_thread\n"
        "UPDATE discussion_threads SET archived_at = coalesce(archived_at, now()), updated_at = now()"
        " WHERE id = $1 AND deleted_at IS NULL",
        thread_id,
    )
    return bool(status == "UPDATE 1")


async def soft_delete_thread(conn: asyncpg.Connection, thread_id: int) -> bool:
    status = await conn.execute(
        "-- source: registry/store/discussions.py:soft_delete_thread\n"
        "UPDATE discussion_threads SET deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL",
        thread_id,
    )
    return bool(status == "UPDATE 1")


# --- comments ------------------------------------------------------------------------------------


async def insert_comment(conn: asyncpg.Connection, thread_id: int, author_id: int, contents: str) -> Comment:
    row = await conn.fetchrow(
        "-- source: registry/store/discussions.py:insert_comment\n"  # noqa: S608 (a module constant)
        "WITH c AS ("
        "  INSERT INTO discussion_comments (thread_id, author_user_id, contents) VALUES ($1, $2, $3) RETURNING *"
        f") SELECT {_COMMENT_COLUMNS} FROM c JOIN users u ON u.id = c.author_user_id",
        thread_id,
        author_id,
        contents,
    )
    assert row is not None
    return _comment(row)


async def comment_by_id(conn: asyncpg.Connection, comment_id: int, *, lock: bool = False) -> Comment | None:
    """A comment that is not deleted, in a thread that is not deleted."""
    row = await conn.fetchrow(
        f"-- source: registry/store/discussions.py:comment_by_id\nSELECT {_COMMENT_COLUMNS}"
        "  FROM discussion_comments c"
        "  JOIN discussion_threads t ON t.id = c.thread_id AND t.deleted_at IS NULL"
        "  JOIN users u ON u.id = c.author_user_id"
        " WHERE c.id = $1 AND c.deleted_at IS NULL" + (" FOR UPDATE OF c" if lock else ""),
        comment_id,
    )
    return _comment(row) if row else None


async def list_comments(conn: asyncpg.Connection, thread_id: int, *, after_id: int | None, limit: int) -> list[Comment]:
    rows = await conn.fetch(
        f"-- source: registry/store/discussions.py:list_comments\nSELECT {_COMMENT_COLUMNS}"
        "  FROM discussion_comments c JOIN users u ON u.id = c.author_user_id"
        " WHERE c.thread_id = $1 AND c.deleted_at IS NULL AND c.id > $2 ORDER BY c.id LIMIT $3",
        thread_id,
        after_id or 0,
        limit,
    )
    return [_comment(row) for row in rows]


async def update_comment(conn: asyncpg.Connection, comment_id: int, contents: str) -> bool:
    status = await conn.execute(
        "-- source: registry/store/discussions.py:update_comment\n"
        "UPDATE discussion_comments SET contents = $2, updated_at = now() WHERE id = $1 AND deleted_at IS NULL",
        comment_id,
        contents,
    )
    return bool(status == "UPDATE 1")


async def soft_delete_comment(conn: asyncpg.Connection, comment_id: int) -> bool:
    status = await conn.execute(
        "-- source: registry/store/discussions.py:soft_delete_comment\n"
        "UPDATE discussion_comments SET deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL",
        comment_id,
    )
    return bool(status == "UPDATE 1")


# --- reports -------------------------------------------------------------------------------------


async def add_report(conn: asyncpg.Connection, comment_id: int, reporter_id: int, reason: str) -> bool:
    """Append a report; False when this user already reported the comment (or it is gone)."""
    status = await conn.execute(
        "-- source: registry/store/discussions.py:add_report\n"
        "UPDATE discussion_comments SET reports = array_append(reports, $2::text || ':' || $3)"
        " WHERE id = $1 AND deleted_at IS NULL"
        "   AND NOT EXISTS (SELECT FROM unnest(reports) AS r(report) WHERE starts_with(r.report, $2::text || ':'))",
        comment_id,
        str(reporter_id),
        reason,
    )
    return bool(status == "UPDATE 1")


async def most_reported(
    conn: asyncpg.Connection, *, after: tuple[int, int] | None, limit: int
) -> list[ReportedComment]:
    """Reported comments (not deleted, in threads not deleted), most reports first, then newest first;
    ordered on `discussion_comments_reports_array_length_idx`. `after` is (report count, id)."""
    rows = await conn.fetch(
        f"-- source: registry/store/discussions.py:most_reported\nSELECT {_COMMENT_COLUMNS},"  # noqa: S608
        "       array_length(c.reports, 1) AS report_count,"
        "       (SELECT jsonb_agg(jsonb_build_object("
        "                 'reporter', ru.username::text, 'reason', substr(rep.report, strpos(rep.report, ':') + 1))"
        "               ORDER BY rep.n)"
        "          FROM unnest(c.reports) WITH ORDINALITY AS rep(report, n)"
        "          LEFT JOIN users ru ON ru.id::text = split_part(rep.report, ':', 1)) AS reports"
        "  FROM discussion_comments c"
        "  JOIN discussion_threads t ON t.id = c.thread_id AND t.deleted_at IS NULL"
        "  JOIN users u ON u.id = c.author_user_id"
        " WHERE array_length(c.reports, 1) > 0 AND c.deleted_at IS NULL"
        "   AND ($1::int IS NULL OR (array_length(c.reports, 1), c.id) < ($1::int, $2::bigint))"
        " ORDER BY array_length(c.reports, 1) DESC, c.id DESC LIMIT $3",
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [
        ReportedComment(
            _comment(row),
            row["report_count"],
            tuple(Report(entry["reporter"], entry["reason"]) for entry in row["reports"] or []),
        )
        for row in rows
    ]


# --- mail reply tokens ---------------------------------------------------------------------------


async def live_reply_token(conn: asyncpg.Connection, user_id: int, thread_id: int) -> str | None:
    """The user's unrevoked reply token for the thread (looked up by owner, never by value)."""
    token: str | None = await conn.fetchval(
        "-- source: registry/store/discussions.py:live_reply_token\n"
        "SELECT token FROM discussion_mail_reply_tokens"
        " WHERE user_id = $1 AND thread_id = $2 AND deleted_at IS NULL LIMIT 1",
        user_id,
        thread_id,
    )
    return token


async def insert_reply_token(conn: asyncpg.Connection, token: str, user_id: int, thread_id: int) -> None:
    await conn.execute(
        "-- source: registry/store/discussions.py:insert_reply_token\n"
        "INSERT INTO discussion_mail_reply_tokens (token, user_id, thread_id) VALUES ($1, $2, $3)",
        token,
        user_id,
        thread_id,
    )


async def revoke_reply_tokens(conn: asyncpg.Connection, user_id: int, thread_id: int) -> int:
    """Revoke the user's live reply tokens for the thread; how many were live."""
    status: str = await conn.execute(
        "-- source: registry/store/discussions.py:revoke_reply_tokens\n"
        "UPDATE discussion_mail_reply_tokens SET deleted_at = now()"
        " WHERE user_id = $1 AND thread_id = $2 AND deleted_at IS NULL",
        user_id,
        thread_id,
    )
    return int(status.split()[-1])


async def revoke_all_reply_tokens(conn: asyncpg.Connection, user_id: int) -> int:
    """Revoke every live reply token of the user, in every thread (their password changed)."""
    status: str = await conn.execute(
        "-- source: registry/store/discussions.py:revoke_all_reply_tokens\n"
        "UPDATE discussion_mail_reply_tokens SET deleted_at = now() WHERE user_id = $1 AND deleted_at IS NULL",
        user_id,
    )
    return int(status.split()[-1])


async def reply_token_holder(conn: asyncpg.Connection, token: str) -> ReplyTokenHolder | None:
    """Who a live reply token belongs to (its user not deleted), by primary key; the row is locked
    (FOR SHARE) so a concurrent revocation waits for the reply being posted with it."""
    row = await conn.fetchrow(
        "-- source: registry/store/discussions.py:reply_token_holder\n"
        "SELECT m.user_id, m.thread_id FROM discussion_mail_reply_tokens m"
        "  JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL"
        " WHERE m.token = $1 AND m.deleted_at IS NULL FOR SHARE OF m",
        token,
    )
    return ReplyTokenHolder(row["user_id"], row["thread_id"]) if row else None
