"""`indexer advisories import PATH`: OSV records into the advisory tables, trusting nothing in them.

PATH is one OSV JSON file, a directory of them (read recursively, symbolic links not followed), or
a zip of them such as OSV's per-ecosystem export (`https://osv-vulnerabilities.storage.googleapis
.com/PyPI/all.zip`). OSV files are third-party data, so every read is bounded: a file or zip entry
over `max_record_bytes` is skipped; a zip with more than `max_entries` entries, or whose entries
would inflate past `max_total_bytes` in all, is refused before a record is read — and the
inflated bytes are counted as they are read too, since a zip's stated sizes are the zip's word.
Each record is checked against `schemas/osv.schema.json` (types and bounds of what is stored) and
refused with its file and the field named; only then is it written.

Records are written one transaction each, and only when new or newer (OSV's `modified`) than the
stored one, so an import can be stopped and run again, and running it twice changes nothing.
"""

from __future__ import annotations

import os
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from jsonschema import Draft202012Validator

from registry.domain.record import Record
from registry.ecosystems import osv_ecosystem_named
from registry.ecosystems.osv import AffectedPackage, ranges_from_json
from registry.resources import schemas_dir
from registry.store.advisories import AdvisoryInput, store_advisory
from registry.validation import (
    SchemaValidator,
    describe_violation,
    format_checker,
    parse_timestamp,
    unstorable,
    violations,
)


class ImportRefused(ValueError):
    """The source as a whole cannot be read (not found, not a zip, a zip bomb)."""


class Limits(Record):
    max_record_bytes: int = 2 * 1024 * 1024  # the largest real OSV records (long PyPI `versions` lists) are ~300 KB
    max_entries: int = 500_000  # files in a directory or entries in a zip (OSV's all.zip holds ~450,000)
    max_total_bytes: int = 8 * 1024**3  # inflated bytes read from one zip


class Source(Record):
    """One record's bytes and where they came from (`label`: a path, or zip!entry)."""

    label: str
    data: bytes | None
    problem: str | None = None


@dataclass
class ImportCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (label, reason)
    ignored_entries: Counter[str] = field(default_factory=Counter)  # affected[] of other ecosystems

    def summary(self) -> str:
        ignored = sum(self.ignored_entries.values())
        line = (
            f"advisories: {self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.skipped)} skipped"
        )
        if ignored:
            names = ", ".join(f"{name} ({count})" for name, count in self.ignored_entries.most_common(5))
            line += f"; {ignored} affected entries of ecosystems Wharf does not index left out: {names}"
        return line


class RecordRefused(ValueError):
    """One record cannot be stored; the message names the field."""


# -- reading the source --------------------------------------------------------------------------


def sources(path: Path, limits: Limits) -> Iterator[Source]:
    """The records at `path`: a zip, a directory (recursively), or one file."""
    if path.is_dir():
        yield from _directory(path, limits)
    elif path.is_file() and zipfile.is_zipfile(path):
        yield from _zip(path, limits)
    elif path.is_file():
        yield _file(path, str(path), limits)
    else:
        raise ImportRefused(f"{path}: no such file or directory")


def _file(path: Path, label: str, limits: Limits) -> Source:
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.max_record_bytes + 1)
    except OSError as exc:
        return Source(label, None, f"cannot be read: {exc.strerror or exc}")
    if len(data) > limits.max_record_bytes:
        return Source(label, None, f"over the size limit of {limits.max_record_bytes} bytes")
    return Source(label, data)


def _directory(root: Path, limits: Limits) -> Iterator[Source]:
    seen = 0
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".json"):
                continue
            path = Path(folder) / name
            seen += 1
            if seen > limits.max_entries:
                raise ImportRefused(f"{root}: more than {limits.max_entries} JSON files")
            if path.is_symlink() or not path.is_file():
                yield Source(str(path), None, "not a regular file (symbolic links are not followed)")
                continue
            yield _file(path, str(path), limits)


def _zip(path: Path, limits: Limits) -> Iterator[Source]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportRefused(f"{path}: not a readable zip: {exc}") from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_entries:
            raise ImportRefused(f"{path}: {len(entries)} entries; the limit is {limits.max_entries}")
        stated = sum(min(entry.file_size, limits.max_record_bytes + 1) for entry in entries)
        if stated > limits.max_total_bytes:
            raise ImportRefused(f"{path}: would inflate to {stated} bytes; the limit is {limits.max_total_bytes}")
        inflated = 0
        for entry in entries:
            if entry.is_dir() or not entry.filename.endswith(".json"):
                continue
            label = f"{path}!{entry.filename}"
            if entry.file_size > limits.max_record_bytes:
                yield Source(label, None, f"over the size limit of {limits.max_record_bytes} bytes")
                continue
            try:
                with archive.open(entry) as handle:
                    data = handle.read(limits.max_record_bytes + 1)  # the stated size may lie
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError) as exc:
                yield Source(label, None, f"cannot be inflated: {exc}")
                continue
            inflated += len(data)
            if inflated > limits.max_total_bytes:
                raise ImportRefused(f"{path}: inflates past {limits.max_total_bytes} bytes (its sizes are false)")
            if len(data) > limits.max_record_bytes:
                yield Source(label, None, f"inflates past the size limit of {limits.max_record_bytes} bytes")
                continue
            yield Source(label, data)


# -- checking one record -------------------------------------------------------------------------


class RecordReader:
    """Checks records against `schemas/osv.schema.json` (compiled once) and builds what is stored."""

    def __init__(self) -> None:
        schema = orjson.loads((schemas_dir() / "osv.schema.json").read_bytes())
        Draft202012Validator.check_schema(schema)
        self._validator = SchemaValidator(schema, format_checker=format_checker())

    def read(self, data: bytes, ignored: Counter[str]) -> AdvisoryInput:
        """The record in `data`; RecordRefused naming the field that is wrong. Affected entries
        of ecosystems Wharf does not index are counted in `ignored`."""
        try:
            record = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise RecordRefused(f"not valid JSON: {exc.msg} at position {exc.pos}") from None
        if not isinstance(record, dict):
            raise RecordRefused(f"an OSV record is a JSON object, not {type(record).__name__}")
        found = unstorable(record)
        if found is not None:
            raise RecordRefused(f"{found[0] or '(record)'} {found[1]}")
        errors = violations(self._validator, record)
        if errors:
            pointer, message = describe_violation(errors[0])
            raise RecordRefused(f"{pointer or '(record)'} {message}")
        affected: list[tuple[int, AffectedPackage]] = []
        for position, entry in enumerate(record.get("affected", [])):
            built = _affected(entry, position)
            if built is None:
                package = entry.get("package")
                ignored[package["ecosystem"] if package else "(no package)"] += 1
            else:
                affected.append((position, built))
        if not affected:
            raise RecordRefused("no affected package in an ecosystem Wharf indexes")
        return AdvisoryInput(
            id=record["id"],
            aliases=tuple(dict.fromkeys(record.get("aliases", []))),
            summary=record.get("summary", ""),
            details=record.get("details"),
            modified=parse_timestamp(record["modified"]),
            published=_timestamp(record, "published"),
            withdrawn=_timestamp(record, "withdrawn"),
            affected=tuple(affected),
            raw=data.decode("utf-8"),
        )


def _timestamp(record: dict[str, Any], name: str) -> Any:
    return parse_timestamp(record[name]) if name in record else None


def _affected(entry: dict[str, Any], position: int) -> AffectedPackage | None:
    """An `affected[]` entry of an ecosystem Wharf indexes (None for any other, or none named)."""
    package = entry.get("package")
    ecosystem = osv_ecosystem_named(package["ecosystem"]) if package else None
    if package is None or ecosystem is None:
        return None
    for index, osv_range in enumerate(entry.get("ranges", [])):
        if osv_range["type"] == "GIT" and not osv_range.get("repo"):
            raise RecordRefused(f"/affected/{position}/ranges/{index}/repo is required for a GIT range")
    package_name = ecosystem.normalise_name(package["name"])
    if not package_name:
        raise RecordRefused(f"/affected/{position}/package/name is empty once normalised")
    return AffectedPackage(
        language=ecosystem.language,
        package=package_name,
        ecosystem=package["ecosystem"],
        name=package["name"],
        ranges=ranges_from_json(entry.get("ranges", [])),
        versions=tuple(dict.fromkeys(entry.get("versions", []))),
    )


# -- the import ----------------------------------------------------------------------------------


async def import_advisories(conn: asyncpg.Connection, path: Path, limits: Limits | None = None) -> ImportCounts:
    """Import every record at `path` (see the module's docstring); ImportRefused for a source that
    cannot be read as a whole."""
    limits = limits or Limits()
    reader = RecordReader()
    counts = ImportCounts()
    for source in sources(path, limits):
        if source.data is None:
            counts.skipped.append((source.label, source.problem or "unreadable"))
            continue
        try:
            advisory = reader.read(source.data, counts.ignored_entries)
        except (RecordRefused, UnicodeDecodeError, ValueError) as exc:
            counts.skipped.append((source.label, str(exc)))
            continue
        try:
            async with conn.transaction():
                outcome = await store_advisory(conn, advisory)
        except asyncpg.IntegrityConstraintViolationError as exc:  # the schema's last word (advisory_raw_bounded)
            counts.skipped.append((source.label, f"refused by the database: {exc.constraint_name or exc}"))
            continue
        if outcome == "new":
            counts.new += 1
        elif outcome == "updated":
            counts.updated += 1
        else:
            counts.unchanged += 1
    return counts
