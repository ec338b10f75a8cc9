"""SQL as SQL: each store's statements live in a `.sql` file beside it, one per `-- name:` header.

    -- name: release_by_version
    -- One release of an extension, yanked ones only when asked.
    SELECT ... WHERE r.registry_extension_id = :extension_pk AND r.release_version = :version::citext

The file is parsed once, at import. Parameters are named (`:name`, the same name used twice is
one parameter) and become asyncpg's `$n` here, so no statement is ever assembled from strings at
run time and no caller counts placeholders. Every statement reaches PostgreSQL prefixed with
`-- store/file.sql:name`, which is what `pg_stat_statements` and the slow-query log then show.
`tests/db/test_queries.py` prepares every statement against the migrated schema and fails on
one that no code uses.

Records are frozen dataclasses whose fields are the columns a query selects; `FromRow` gives
each the one way rows become records. A list statement pages by a `Keyset`: `Query.page` binds a
cursor's key and the limit to its parameters and makes the `Page` of what it returns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, Protocol, Self, TypeVar

import asyncpg

from registry.domain.page import Column, CursorCodec, Page, PageRequest
from registry.domain.record import Record

R = TypeVar("R", bound="FromRow")
K = TypeVar("K", contravariant=True)  # what a Keyset orders (it only reads their keys)

_HEADER = re.compile(r"^-- name: ([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
# What may contain a colon that is no parameter: literals, quoted identifiers, comments, casts.
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|::|:([a-z_][a-z0-9_]*)")


class FromRow(Record):
    """A record built from a row whose columns are named as the record's fields."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        return cls(**row)


class Timestamped(FromRow, kw_only=True):
    """A record of a table with the seed's `created_at` and `updated_at` columns, as most have.
    Keyword-only, so that a record's own fields keep their places ahead of them."""

    created_at: datetime
    updated_at: datetime


class Identified(Protocol):
    """A record with a serial id."""

    @property
    def id(self) -> int: ...


class Keyset(Record, Generic[K]):
    """One ordering a store lists by, as its statements see it: the codec of the cursor (which
    refuses a foreign one), the parameters the cursor's key is bound to, in the key's order, and
    what they are bound to on the first page (None where the statement reads NULL as "from the
    start", 0 where it compares `id > :after_id` with serial ids); `key` is an item's sort key, which
    the next page's cursor carries. A store keeps one per ordering, beside what it orders."""

    codec: CursorCodec
    params: tuple[str, ...]
    key: Callable[[K], Sequence[Any]]
    first: Any = None

    def bind(self, page: PageRequest) -> dict[str, Any]:
        """The paging parameters of `page`: the key to continue after, and a `limit` of one row more
        than the page shows, which says whether there is a next page."""
        after = self.codec.after(page)
        key = after if after is not None else (self.first,) * len(self.params)
        return {**dict(zip(self.params, key, strict=True)), "limit": page.limit + 1}

    @staticmethod
    def by_id(column: Column) -> Keyset[Identified]:
        """The ordering most lists page by: ascending serial ids (of `column`'s type), continued
        after `:after_id`, which is 0, below every id, on the first page."""
        return Keyset(CursorCodec(column), ("after_id",), lambda item: [item.id], first=0)


class Query(Record):
    """One named statement: its text with `$n` placeholders and the parameter behind each."""

    name: str
    text: str
    params: tuple[str, ...]

    def args(self, values: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for `values`; TypeError when one is missing or unknown."""
        if set(values) != set(self.params):
            missing = sorted(set(self.params) - set(values))
            unknown = sorted(set(values) - set(self.params))
            raise TypeError(f"query {self.name}: missing parameters {missing}, unknown parameters {unknown}")
        return [values[name] for name in self.params]

    def bind(self, record: object, **overrides: Any) -> dict[str, Any]:
        """The statement's parameters taken from `record`'s attributes of the same names, but for
        `overrides`: a record written whole is bound by name, not restated field by field."""
        return {name: overrides[name] if name in overrides else getattr(record, name) for name in self.params}

    async def fetch(self, conn: asyncpg.Connection, **params: Any) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await conn.fetch(self.text, *self.args(params))
        return rows

    async def fetchrow(self, conn: asyncpg.Connection, **params: Any) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await conn.fetchrow(self.text, *self.args(params))
        return row

    async def fetchval(self, conn: asyncpg.Connection, **params: Any) -> Any:
        return await conn.fetchval(self.text, *self.args(params))

    async def execute(self, conn: asyncpg.Connection, **params: Any) -> str:
        status: str = await conn.execute(self.text, *self.args(params))
        return status

    async def executemany(self, conn: asyncpg.Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        await conn.executemany(self.text, [self.args(row) for row in rows])

    async def one(self, conn: asyncpg.Connection, record: type[R], **params: Any) -> R | None:
        """The row as a `record`, or None when there is none."""
        row = await self.fetchrow(conn, **params)
        return None if row is None else record.from_row(row)

    async def single(self, conn: asyncpg.Connection, record: type[R], **params: Any) -> R:
        """The row a statement always returns (an INSERT or upsert … RETURNING, an aggregate) as a
        `record`; RuntimeError when it returns none, which only a wrong statement can do."""
        found = await self.one(conn, record, **params)
        if found is None:
            raise RuntimeError(f"query {self.name} returned no row")
        return found

    async def all(self, conn: asyncpg.Connection, record: type[R], **params: Any) -> list[R]:
        return [record.from_row(row) for row in await self.fetch(conn, **params)]

    async def page(
        self,
        conn: asyncpg.Connection,
        record: type[R],
        keyset: Keyset[R],
        page: PageRequest,
        **params: Any,
    ) -> Page[R]:
        """One page of `record`s in the order of `keyset`, after `page`'s cursor."""
        rows = await self.all(conn, record, **keyset.bind(page), **params)
        return keyset.codec.page(rows, page, keyset.key)

    async def changed(self, conn: asyncpg.Connection, **params: Any) -> int:
        """How many rows an UPDATE, DELETE or INSERT changed: the count its status ends with
        ("UPDATE 2", "INSERT 0 1")."""
        return int((await self.execute(conn, **params)).split()[-1])


class Queries:
    """The statements of one `.sql` file, by name (`queries.release_by_version`)."""

    def __init__(self, path: Path, queries: dict[str, Query]) -> None:
        self.path = path
        self._queries = queries

    def __getattr__(self, name: str) -> Query:
        try:
            return self._queries[name]
        except KeyError:
            raise AttributeError(f"{self.path.name} has no query named {name}") from None

    def __iter__(self) -> Iterator[Query]:
        return iter(self._queries.values())


def _compile(name: str, label: str, body: str) -> Query:
    params: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        param = match.group(1)
        if param is None:
            return match.group(0)
        if param not in params:
            params.append(param)
        return f"${params.index(param) + 1}"

    text = _TOKEN.sub(placeholder, body.strip())
    if not text:
        raise ValueError(f"{label}: query {name} is empty")
    return Query(name, f"-- {label}\n{text}", tuple(params))


def parse(text: str, label: str) -> dict[str, Query]:
    """The named queries of one file's text; ValueError for text before the first header, an empty
    query, or a name used twice."""
    parts = _HEADER.split(text)
    if parts[0].strip():
        raise ValueError(f"{label}: text before the first `-- name:` header")
    queries: dict[str, Query] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"{label}: query {name} is defined twice")
        queries[name] = _compile(name, f"{label}:{name}", body)
    return queries


def load(module_file: str) -> Queries:
    """The queries in the `.sql` file beside a store module (`load(__file__)`)."""
    path = Path(module_file).with_suffix(".sql")
    label = f"{path.parent.name}/{path.name}"
    return Queries(path, parse(path.read_text(encoding="utf-8"), label))
