"""What every ecosystem parser returns (the `parse` of an `Ecosystem` record) and what it reads.

A parser is a pure function `parse(path, data, read) -> ParseResult`: `path` is the manifest's
path inside the repository (POSIX, no leading slash), `data` its bytes, and `read(other_path)`
returns another file of the same repository (or None) — for `-r` includes, a Cargo workspace
root, a Maven parent. Parsers never execute repository code and never touch the network.

A lockfile parser is the same kind of function, `parse_lock(path, data, read) -> LockParseResult`:
the versions a package manager resolved, one `ResolvedDependency` per (package, version). `read`
gives the sibling manifest when the lockfile alone cannot say what is direct or dev.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import field
from typing import Any

from registry.domain.record import Record

ReadFile = Callable[[str], bytes | None]


class ManifestError(ValueError):
    """The file cannot be parsed; the indexer reports it and skips the file."""


class PackageDef(Record):
    """A package the repository defines (a `pkgs` row: {"name", "version", "path"})."""

    name: str
    version: str | None
    path: str

    def as_row(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "path": self.path}


class Dependency(Record):
    """A dependency the repository declares (a `global_dep` row).

    `package` is normalised per ecosystem (PEP 503 for Python); `declared_range` is the range as
    written ("" when none is declared); `dep_type` names the section it came from
    (e.g. "dependencies", "devDependencies", "optional:socks", "indirect", "build-dependencies").
    `hints` always holds {"path": manifest path} and may add ecosystem detail (markers, extras,
    target, source URL, the name as written).
    """

    package: str
    declared_range: str
    dep_type: str
    path: str
    hints: dict[str, Any] = field(default_factory=dict)

    def dep_data(self) -> dict[str, Any]:
        return {"package": self.package, "version": self.declared_range, "depType": self.dep_type}

    def hint_data(self) -> dict[str, Any]:
        return {"path": self.path, **self.hints}


class ParseResult(Record):
    language: str
    packages: list[PackageDef] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)


Parser = Callable[[str, bytes, ReadFile], ParseResult]


class ResolvedDependency(Record):
    """A package at the exact version a lockfile resolved, and how the repository comes to depend on it.

    `package` is normalised per ecosystem; `version` is as the lockfile writes it (`v1.2.3` for Go,
    `2.6.3` for a gem locked for several platforms). One row per (package, version): a package
    locked at two versions is two rows.

    `depth` is 1 for a direct dependency and, for a transitive one, the length of the shortest path
    to it from a root of the lock (the project, or each workspace member) — so `direct` is
    `depth == 1`. **0 means unknown**: the lockfile has no graph (gradle.lockfile, Pipfile.lock,
    Go's `// indirect` requirements) or nothing in the repository reaches the package.

    `parents` stores the graph: for a transitive row, every package of the lock that pulls it in,
    as `name@version` (or `name` where the lockfile names no version); empty for a direct row and
    where the lock has no graph. A shortest path from the root is therefore found without the
    lockfile: from a row at depth d, step to any parent at depth d-1, down to depth 1.

    `via` is one shortest path from the root: the packages between (the direct dependency first,
    this one excluded), each as `parents` names it — empty for a direct row and where depth is 0.

    `dev` is true when only development roots (devDependencies, dev groups, packages-dev, test
    configurations) lead to the package; `optional` when only optional edges do. `hints` holds
    format detail (importers of a workspace, platforms, source, integrity, configurations).
    """

    package: str
    version: str
    direct: bool
    depth: int
    parents: tuple[str, ...]
    dev: bool
    optional: bool
    path: str
    hints: dict[str, Any] = field(default_factory=dict)
    via: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """How a child's `parents` names this row."""
        return f"{self.package}@{self.version}"


class LockParseResult(Record):
    language: str
    dependencies: list[ResolvedDependency] = field(default_factory=list)


LockParser = Callable[[str, bytes, ReadFile], LockParseResult]


def load_json_object(path: str, data: bytes) -> dict[str, Any]:
    """A JSON manifest (package.json, composer.json) whose top level must be an object."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ManifestError(f"{path}: invalid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ManifestError(f"{path}: expected a JSON object at the top level, got {type(doc).__name__}")
    return doc


def decode_text(path: str, data: bytes) -> str:
    """A manifest or lockfile as text: UTF-8, a byte-order mark allowed."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not valid UTF-8: {exc}") from exc


def load_toml(path: str, data: bytes) -> dict[str, Any]:
    try:
        return tomllib.loads(decode_text(path, data))
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ManifestError(f"{path}: invalid TOML: {exc}") from exc
