"""Settings: global, per-org and per-user JSONC documents, one row per version (history kept).

A subject's current settings are its newest row (highest id). Writers serialise per subject on an
advisory transaction lock (`lock_subject`), taken before `insert_version` compares the newest id
with the one the writer edited; under READ COMMITTED the comparison alone would be racy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow, Query
from registry.domain.errors import BadRequest
from registry.domain.page import FOREIGN_CURSOR, Column, CursorCodec, Page, PageRequest
from registry.domain.record import Record

_SQL = queries.load(__file__)

SubjectKind = Literal["global", "org", "user"]

# History, newest first: the key is the version's id (settings.id is an integer column).
HISTORY = CursorCodec(Column.INT4)


class Subject(Record):
    """Whose settings: the whole site, an org (org_id) or a user (user_id)."""

    kind: SubjectKind
    name: str | None = None
    org_id: int | None = None
    user_id: int | None = None

    @property
    def lock_key(self) -> str:
        return f"settings:{self.kind}:{self.org_id or self.user_id or 0}"

    def params(self) -> dict[str, Any]:
        """The parameters naming this subject in the statements of its kind."""
        if self.kind == "org":
            return {"org_id": self.org_id}
        if self.kind == "user":
            return {"user_id": self.user_id}
        return {}


class Version(FromRow):
    id: int
    contents: str | None
    author: str | None
    created_at: datetime


class CascadeLevel(FromRow):
    """One subject of a user's cascade and its current version (id None: no settings yet). The
    texts are left out (None) when the cascade is over the size it was read with."""

    kind: SubjectKind
    name: str | None
    id: int | None
    bytes: int  # of the parsed form (of the contents when not parsed yet); 0 without settings
    contents: str | None  # only when not parsed yet
    parsed: str | None  # the contents as strict JSON, kept when written (None: not parsed yet)


class EnabledExtension(FromRow):
    """An extension named in settings, found live, with its latest release (None: unpublished)."""

    extension_id: str
    uuid: str
    release_id: int | None
    version: str | None
    released_at: datetime | None


_CURRENT: dict[SubjectKind, Query] = {
    "global": _SQL.current_version_global,
    "org": _SQL.current_version_org,
    "user": _SQL.current_version_user,
}
_HISTORY: dict[SubjectKind, Query] = {
    "global": _SQL.history_global,
    "org": _SQL.history_org,
    "user": _SQL.history_user,
}
_INSERT: dict[SubjectKind, Query] = {
    "global": _SQL.insert_version_global,
    "org": _SQL.insert_version_org,
    "user": _SQL.insert_version_user,
}


async def current_version(conn: asyncpg.Connection, subject: Subject) -> Version | None:
    return await _CURRENT[subject.kind].one(conn, Version, **subject.params())


async def history(conn: asyncpg.Connection, subject: Subject, page: PageRequest) -> Page[Version]:
    """The subject's versions, newest first, a page at a time."""
    after = HISTORY.after(page)
    before_id = None if after is None else int(after[0])
    if before_id is not None and before_id <= 0:  # ids are serial: this server issued no such cursor
        raise BadRequest(FOREIGN_CURSOR)
    versions = await _HISTORY[subject.kind].all(
        conn, Version, before_id=before_id, limit=page.limit + 1, **subject.params()
    )
    return HISTORY.page(versions, page, lambda version: [version.id])


async def lock_subject(conn: asyncpg.Connection, subject: Subject) -> None:
    """Serialise writers of one subject until the transaction ends (call inside one)."""
    await _SQL.lock_subject.execute(conn, lock_key=subject.lock_key)


async def insert_version(
    conn: asyncpg.Connection, subject: Subject, contents: str, parsed: str, author_user_id: int, last_id: int | None
) -> Version | None:
    """A new version (`contents` as written, `parsed` as strict JSON), written only if the subject's
    newest id is `last_id` (None: no rows yet); None when it is not. Run after `lock_subject`, in the
    same transaction."""
    return await _INSERT[subject.kind].one(
        conn,
        Version,
        contents=contents,
        parsed=parsed,
        author_user_id=author_user_id,
        last_id=last_id,
        **subject.params(),
    )


async def keep_parsed(conn: asyncpg.Connection, version_id: int, parsed: str) -> None:
    """Keep the parsed form of a version written without one (around the API)."""
    await _SQL.keep_parsed.execute(conn, version_id=version_id, parsed=parsed)


async def cascade(conn: asyncpg.Connection, user_id: int, max_bytes: int) -> list[CascadeLevel]:
    """The user's cascade in merge order: global, each live org the user belongs to (by name),
    the user; each with its current version, whose texts are read only if all the levels' add up to
    `max_bytes` at most."""
    return await _SQL.cascade.all(conn, CascadeLevel, user_id=user_id, max_bytes=max_bytes)


async def largest_cascade_bytes(conn: asyncpg.Connection, subject: Subject, new_bytes: int) -> int:
    """The largest cascade (in bytes of parsed settings) of the users whose cascade holds `subject`,
    were `subject`'s current settings `new_bytes` long: what a write would make of them."""
    value = await _SQL.largest_cascade_bytes.fetchval(
        conn, org_id=subject.org_id, user_id=subject.user_id, kind=subject.kind, new_bytes=new_bytes
    )
    return int(value)


async def enabled_extensions(conn: asyncpg.Connection, ids: Sequence[tuple[str, str]]) -> list[EnabledExtension]:
    """The live extensions among `ids` (publisher, name; case-insensitive), each with its latest
    live release, in one query."""
    return await _SQL.enabled_extensions.all(
        conn,
        EnabledExtension,
        publishers=[publisher for publisher, _ in ids],
        names=[name for _, name in ids],
    )
