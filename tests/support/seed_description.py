"""A parser for the seed schema's description: `psql \\d` output of every table, in Markdown.

The document (shared/schema/seed-schema.md, copied to tests/fixtures/) has one section per table:

    # Table "public.users"
    ```
     Column | Type | Modifiers
    --------+------+----------
     id     | integer | not null default nextval('users_id_seq'::regclass)
    Indexes:
        "users_pkey" PRIMARY KEY, btree (id)
    Check constraints:
        "users_username_max_length" CHECK (char_length(username::text) <= 255)
    Foreign-key constraints:
        "..." FOREIGN KEY (...) REFERENCES ...
    Referenced by:
        TABLE "x" CONSTRAINT "..." FOREIGN KEY (...) REFERENCES ...
    ```

Each line is kept in psql's own words, so that the live catalog, rendered the way psql renders
it, can be compared line by line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_TABLE_HEADING = re.compile(r'^# Table "(?P<schema>[^"]+)\.(?P<table>[^"]+)"\s*$')
_NAMED_LINE = re.compile(r'^"(?P<name>[^"]+)" (?P<definition>.+)$')
_REFERENCED = re.compile(r'^TABLE "(?P<table>[^"]+)" CONSTRAINT "(?P<name>[^"]+)" (?P<definition>.+)$')
_MODIFIERS = re.compile(r"^(?:collate (?P<collation>\S+)\s*)?(?P<not_null>not null)?\s*(?:default (?P<default>.+))?$")
_SECTIONS = {
    "Indexes:": "indexes",
    "Check constraints:": "checks",
    "Foreign-key constraints:": "foreign_keys",
    "Referenced by:": "referenced_by",
}


class SeedFormatError(ValueError):
    """The document does not have the shape of psql's \\d output."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    default: str | None


@dataclass
class Table:
    name: str
    columns: list[Column] = field(default_factory=list)
    indexes: dict[str, str] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)
    foreign_keys: dict[str, str] = field(default_factory=dict)
    referenced_by: dict[tuple[str, str], str] = field(default_factory=dict)


def _parse_column(line: str, table: str) -> Column:
    cells = [cell.strip() for cell in line.split("|", 2)]
    if len(cells) != 3:
        raise SeedFormatError(f"{table}: a column row needs three cells: {line!r}")
    name, type_, modifiers = cells
    match = _MODIFIERS.match(modifiers)
    if match is None or match["collation"]:
        raise SeedFormatError(f"{table}.{name}: modifiers not understood: {modifiers!r}")
    return Column(name, type_, bool(match["not_null"]), match["default"])


def _parse_block(table: str, lines: list[str]) -> Table:
    result = Table(table)
    header = [cell.strip() for cell in lines[0].split("|")]
    if header != ["Column", "Type", "Modifiers"] or not set(lines[1]) <= {"-", "+"}:
        raise SeedFormatError(f"{table}: expected a Column | Type | Modifiers header, got {lines[0]!r}")
    section = "columns"
    for raw in lines[2:]:
        if not raw.strip():
            continue
        if raw.strip() in _SECTIONS:
            section = _SECTIONS[raw.strip()]
            continue
        if section == "columns":
            result.columns.append(_parse_column(raw, table))
        elif section == "referenced_by":
            ref = _REFERENCED.match(raw.strip())
            if ref is None:
                raise SeedFormatError(f"{table}: referenced-by line not understood: {raw!r}")
            result.referenced_by[(ref["table"], ref["name"])] = ref["definition"]
        else:
            named = _NAMED_LINE.match(raw.strip())
            if named is None:
                raise SeedFormatError(f"{table}: {section} line not understood: {raw!r}")
            getattr(result, section)[named["name"]] = named["definition"]
    return result


def parse_seed(text: str) -> dict[str, Table]:
    """Every table of the document, by name, in the document's order."""
    tables: dict[str, Table] = {}
    lines = text.splitlines()
    position = 0
    while position < len(lines):
        heading = _TABLE_HEADING.match(lines[position])
        position += 1
        if heading is None:
            continue
        if heading["schema"] != "public":
            raise SeedFormatError(f"only the public schema is described, found {heading['schema']}")
        while position < len(lines) and not lines[position].startswith("```"):
            position += 1
        end = position + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        if end >= len(lines):
            raise SeedFormatError(f"{heading['table']}: unterminated code block")
        tables[heading["table"]] = _parse_block(heading["table"], lines[position + 1 : end])
        position = end + 1
    if not tables:
        raise SeedFormatError("no table found")
    return tables


def load_seed(path: Path) -> dict[str, Table]:
    return parse_seed(path.read_text())
