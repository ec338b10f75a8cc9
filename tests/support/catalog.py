"""The live catalog, rendered in psql's words, and compared with the seed description.

Indexes are rendered as psql's \\d does: "PRIMARY KEY, " / "UNIQUE CONSTRAINT, " / "UNIQUE, " and
the part of pg_get_indexdef after " USING "; exclusion constraints as their definition. When a
line differs only in how a PostgreSQL major deparses it (9.6 wrote `(COALESCE(x, 0))`, 15 writes
`COALESCE(x, 0)`), the expected line is handed to the live server, which deparses it the way it
deparses the real object, inside a transaction that is rolled back — so the comparison is
semantic, never a list of allowed spellings.
"""

from __future__ import annotations

import re

import asyncpg

from tests.support.seed_description import Column, Table

_INDEX_PREFIX = re.compile(r"^(?P<kind>PRIMARY KEY, |UNIQUE CONSTRAINT, |UNIQUE, )?(?P<body>.+)$")


async def live_tables(conn: asyncpg.Connection) -> dict[str, Table]:
    """Every ordinary table in schema public, as the seed description would describe it."""
    tables: dict[str, Table] = {}
    for row in await conn.fetch(
        "SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname"
    ):
        tables[row["relname"]] = await _live_table(conn, row["oid"], row["relname"])
    return tables


async def _live_table(conn: asyncpg.Connection, oid: int, name: str) -> Table:
    table = Table(name)
    for col in await conn.fetch(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,"
        "       pg_get_expr(d.adbin, d.adrelid) AS default"
        "  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        oid,
    ):
        table.columns.append(Column(col["attname"], col["type"], col["attnotnull"], col["default"]))
    for idx in await conn.fetch(
        "SELECT c.relname, i.indisprimary, i.indisunique, pg_get_indexdef(i.indexrelid, 0, true) AS def,"
        "       con.contype::text AS contype, pg_get_constraintdef(con.oid, true) AS condef"
        "  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        "  LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid"
        "                              AND con.contype IN ('p', 'u', 'x')"
        " WHERE i.indrelid = $1",
        oid,
    ):
        table.indexes[idx["relname"]] = _render_index(idx)
    for con in await conn.fetch(
        "SELECT conname, contype::text AS contype, pg_get_constraintdef(oid, true) AS def FROM pg_constraint"
        " WHERE conrelid = $1 AND contype IN ('c', 'f')",
        oid,
    ):
        target = table.checks if con["contype"] == "c" else table.foreign_keys
        target[con["conname"]] = con["def"]
    for ref in await conn.fetch(
        "SELECT c.relname, con.conname, pg_get_constraintdef(con.oid, true) AS def"
        "  FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid"
        " WHERE con.confrelid = $1 AND con.contype = 'f'",
        oid,
    ):
        table.referenced_by[(ref["relname"], ref["conname"])] = ref["def"]
    return table


def _render_index(idx: asyncpg.Record) -> str:
    if idx["contype"] == "x":
        return str(idx["condef"])
    kind = ""
    if idx["indisprimary"]:
        kind = "PRIMARY KEY, "
    elif idx["indisunique"]:
        kind = "UNIQUE CONSTRAINT, " if idx["contype"] == "u" else "UNIQUE, "
    return kind + str(idx["def"]).split(" USING ", 1)[1]


def _normal(text: str | None) -> str | None:
    return None if text is None else " ".join(text.split())


async def _deparse_and_roll_back(conn: asyncpg.Connection, ddl: str, query: str) -> str | None:
    """Create a probe object with `ddl`, read its definition with `query`, and undo both.

    A transaction is rolled back by raising out of it; None when the server refuses the DDL.
    """
    try:
        async with conn.transaction():
            await conn.execute(ddl)
            raise _Rollback(str(await conn.fetchval(query)))
    except _Rollback as done:
        return done.value
    except asyncpg.PostgresError:
        return None


async def _deparsed_index(conn: asyncpg.Connection, table: str, expected: str) -> str | None:
    """How the live server renders the expected index line (None if it does not parse)."""
    match = _INDEX_PREFIX.match(expected)
    if match is None or expected.startswith("EXCLUDE"):
        return None
    unique = "UNIQUE " if match["kind"] else ""
    definition = await _deparse_and_roll_back(
        conn,
        f'CREATE {unique}INDEX wharf_conformance_probe ON public."{table}" USING {match["body"]}',
        "SELECT pg_get_indexdef('public.wharf_conformance_probe'::regclass, 0, true)",
    )
    return None if definition is None else (match["kind"] or "") + definition.split(" USING ", 1)[1]


async def _deparsed_constraint(conn: asyncpg.Connection, table: str, expected: str) -> str | None:
    definition = await _deparse_and_roll_back(
        conn,
        f'ALTER TABLE public."{table}" ADD CONSTRAINT wharf_conformance_probe {expected} NOT VALID',
        "SELECT pg_get_constraintdef(oid, true) FROM pg_constraint WHERE conname = 'wharf_conformance_probe'",
    )
    return None if definition is None else definition.removesuffix(" NOT VALID")


class _Rollback(Exception):
    def __init__(self, value: str) -> None:
        self.value = value


async def _same(conn: asyncpg.Connection, table: str, kind: str, expected: str, actual: str) -> bool:
    if _normal(expected) == _normal(actual):
        return True
    if kind == "index":
        deparsed = await _deparsed_index(conn, table, expected)
    elif kind in {"check", "foreign key"}:
        deparsed = await _deparsed_constraint(conn, table, expected)
    else:
        return False
    return deparsed is not None and _normal(deparsed) == _normal(actual)


async def compare(
    conn: asyncpg.Connection, seed: dict[str, Table], live: dict[str, Table], *, allow_additions: bool
) -> list[str]:
    """Readable differences between the seed and the live catalog; empty when they agree.

    With `allow_additions`, objects that later migrations added are not differences; anything the
    seed describes must still be there unchanged.
    """
    problems: list[str] = []
    for name, expected in seed.items():
        actual = live.get(name)
        if actual is None:
            problems.append(f"table {name}: missing")
            continue
        problems += _compare_columns(name, expected.columns, actual.columns, allow_additions)
        for kind, want, have in (
            ("index", expected.indexes, actual.indexes),
            ("check", expected.checks, actual.checks),
            ("foreign key", expected.foreign_keys, actual.foreign_keys),
            ("referenced by", expected.referenced_by, actual.referenced_by),
        ):
            for key, definition in want.items():
                label = f"{name}: {kind} {key}"
                if key not in have:
                    problems.append(f"{label}: missing (expected {definition})")
                elif not await _same(conn, name, kind, definition, have[key]):
                    problems.append(f"{label}:\n    expected {definition}\n    found    {have[key]}")
            if not allow_additions:
                problems += [f"{name}: {kind} {key}: not in the seed ({have[key]})" for key in have if key not in want]
    if not allow_additions:
        problems += [f"table {name}: not in the seed" for name in live if name not in seed]
    return problems


def _compare_columns(table: str, want: list[Column], have: list[Column], allow_additions: bool) -> list[str]:
    problems = []
    have_by_name = {column.name: column for column in have}
    for column in want:
        found = have_by_name.get(column.name)
        if found is None:
            problems.append(f"{table}.{column.name}: column missing")
        elif (column.type, column.not_null, _normal(column.default)) != (
            found.type,
            found.not_null,
            _normal(found.default),
        ):
            problems.append(
                f"{table}.{column.name}:\n    expected {_describe(column)}\n    found    {_describe(found)}"
            )
    wanted = {column.name for column in want}
    order_want = [column.name for column in want if column.name in have_by_name]
    order_have = [column.name for column in have if column.name in wanted]
    if order_have != order_want:
        problems.append(f"{table}: column order differs: expected {order_want}, found {order_have}")
    if not allow_additions:
        problems += [f"{table}.{c.name}: column not in the seed" for c in have if c.name not in wanted]
    return problems


def _describe(column: Column) -> str:
    parts = [column.type, "not null" if column.not_null else "null"]
    if column.default is not None:
        parts.append(f"default {column.default}")
    return " ".join(parts)


_NEXTVAL = re.compile(r"^nextval\('(?P<sequence>[^']+)'::regclass\)$")


async def sequence_problems(conn: asyncpg.Connection, seed: dict[str, Table]) -> list[str]:
    """Every sequence a seed default draws from exists and is owned by that column (as serial makes)."""
    problems = []
    for table in seed.values():
        for column in table.columns:
            match = _NEXTVAL.match(column.default or "")
            if match is None:
                continue
            owner = await conn.fetchrow(
                "SELECT c.relname AS table, a.attname AS column FROM pg_class s"
                "  JOIN pg_depend d ON d.objid = s.oid AND d.deptype = 'a'"
                "  JOIN pg_class c ON c.oid = d.refobjid"
                "  JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
                " WHERE s.relkind = 'S' AND s.relname = $1",
                match["sequence"],
            )
            if owner is None:
                problems.append(f"sequence {match['sequence']}: missing, or owned by no column")
            elif (owner["table"], owner["column"]) != (table.name, column.name):
                problems.append(
                    f"sequence {match['sequence']}: owned by {owner['table']}.{owner['column']}, "
                    f"expected {table.name}.{column.name}"
                )
    return problems
