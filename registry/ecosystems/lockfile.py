"""What every lockfile parser shares: the dependency graph it fills in, and the readers of its formats.

A parser adds the lock's packages as nodes (under whatever id the format uses to refer to one: an
npm install path, a pnpm snapshot key, `name@version`), the edges between them, and the direct
edges from each root (the project, each workspace member). `LockGraph.resolve` then computes, in
three breadth-first passes linear in nodes + edges and without recursion:

- depth: 1 for a direct dependency, else the shortest distance from a root (0 when unreachable);
- dev: no path from a non-dev root through non-dev edges reaches it;
- optional: no path from a non-optional root through non-optional edges reaches it;

unless the format states dev/optional itself (npm, pnpm ≤ 8, poetry, composer), which wins.
Rows are merged per (package, version): a package installed twice at one version (npm's nested
`node_modules`, pnpm's peer variants) is one row, at its smallest depth, with all its parents.
"""

from __future__ import annotations

import posixpath
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import yaml

from registry.ecosystems.base import (
    ManifestError,
    ReadFile,
    ResolvedDependency,
    decode_text,
    load_json_object,
    load_toml,
)

Table = dict[str, Any]


@dataclass
class _Node:
    package: str
    version: str
    dev: bool | None
    optional: bool | None
    hints: Table


class _Edge(NamedTuple):
    child: str
    dev: bool
    optional: bool


@dataclass
class LockGraph:
    """A lock's packages and edges, filled in by one parser; `resolve` turns it into rows."""

    path: str
    nodes: dict[str, _Node] = field(default_factory=dict)
    edges: dict[str, list[_Edge]] = field(default_factory=dict)
    roots: list[tuple[str, _Edge]] = field(default_factory=list)  # (importer, edge to a direct dependency)

    def add_package(
        self,
        node_id: str,
        package: str,
        version: str,
        *,
        dev: bool | None = None,
        optional: bool | None = None,
        hints: Table | None = None,
    ) -> None:
        """A package of the lock; the first one added under an id wins (locks do not repeat ids)."""
        if node_id not in self.nodes:
            self.nodes[node_id] = _Node(package, version, dev, optional, hints or {})

    def add_edge(self, parent: str, child: str, *, dev: bool = False, optional: bool = False) -> None:
        self.edges.setdefault(parent, []).append(_Edge(child, dev, optional))

    def add_direct(self, child: str, *, dev: bool = False, optional: bool = False, importer: str = ".") -> None:
        self.roots.append((importer, _Edge(child, dev, optional)))

    def resolve(self) -> list[ResolvedDependency]:
        depth, parents = self._depths_and_parents()
        non_dev = self._reach(1)
        required = self._reach(2)
        importers = self._importers()
        rows: dict[tuple[str, str], _Row] = {}
        for node_id, node in self.nodes.items():
            reached = node_id in depth
            dev = node.dev if node.dev is not None else reached and node_id not in non_dev
            optional = node.optional if node.optional is not None else reached and node_id not in required
            row = rows.get((node.package, node.version))
            if row is None:
                row = rows[(node.package, node.version)] = _Row(node.hints)
            row.add(depth.get(node_id, 0), dev, optional, parents.get(node_id, ()), importers.get(node_id, ()))
        return with_paths([row.record(package, version, self.path) for (package, version), row in sorted(rows.items())])

    def _label(self, node_id: str) -> str:
        node = self.nodes[node_id]
        return f"{node.package}@{node.version}" if node.version else node.package

    def _depths_and_parents(self) -> tuple[dict[str, int], dict[str, set[str]]]:
        depth: dict[str, int] = {}
        queue: deque[str] = deque()
        for _, edge in self.roots:
            if edge.child in self.nodes and edge.child not in depth:
                depth[edge.child] = 1
                queue.append(edge.child)
        while queue:
            parent = queue.popleft()
            for edge in self.edges.get(parent, ()):
                if edge.child in self.nodes and edge.child not in depth:
                    depth[edge.child] = depth[parent] + 1
                    queue.append(edge.child)
        parents: dict[str, set[str]] = {}
        for parent, edges in self.edges.items():
            if parent not in self.nodes:
                continue
            label = self._label(parent)
            for child, _, _ in edges:
                if child != parent and child in self.nodes and depth.get(child) != 1:
                    found = parents.get(child)
                    if found is None:
                        parents[child] = {label}
                    else:
                        found.add(label)
        return depth, parents

    def _reach(self, skip: int) -> set[str]:
        """Nodes reached from the roots through edges whose flag at index `skip` (1 dev, 2 optional) is false."""
        nodes, edges = self.nodes, self.edges
        seen = {edge[0] for _, edge in self.roots if not edge[skip] and edge[0] in nodes}
        queue = deque(seen)
        while queue:
            for edge in edges.get(queue.popleft(), ()):
                child = edge[0]
                if not edge[skip] and child not in seen and child in nodes:
                    seen.add(child)
                    queue.append(child)
        return seen

    def _importers(self) -> dict[str, list[str]]:
        """Which workspace members declare each direct dependency; only said when there are several."""
        if len({importer for importer, _ in self.roots}) < 2:
            return {}
        found: dict[str, list[str]] = {}
        for importer, edge in self.roots:
            found.setdefault(edge.child, []).append(importer)
        return found


@dataclass(slots=True)
class _Row:
    hints: Table
    depth: int = 0
    dev: bool = True
    optional: bool = True
    parents: set[str] = field(default_factory=set)
    importers: set[str] = field(default_factory=set)

    def add(self, depth: int, dev: bool, optional: bool, parents: Iterable[str], importers: Iterable[str]) -> None:
        """Merge one node; flags of nodes nothing reaches (a patched copy's original) count only if none is reached."""
        if depth and not self.depth:
            self.depth, self.dev, self.optional = depth, dev, optional
        elif depth or not self.depth:
            self.depth = min(self.depth, depth) if depth else self.depth
            self.dev = self.dev and dev
            self.optional = self.optional and optional
        self.parents.update(parents)
        self.importers.update(importers)

    def record(self, package: str, version: str, path: str) -> ResolvedDependency:
        direct = self.depth == 1
        self.parents.discard(f"{package}@{version}")
        parents = () if direct or not self.parents else tuple(sorted(self.parents))
        hints = {**self.hints, "importers": sorted(self.importers)} if self.importers else self.hints
        return ResolvedDependency(package, version, direct, self.depth, parents, self.dev, self.optional, path, hints)


MAX_PATH_DEPTH = 128
"""Deeper rows get no `via`: a path holds depth - 1 names, so a hostile chain of n packages would
otherwise cost n²/2 names in memory and in the table (real locks stay under ~30 deep)."""


def with_paths(rows: list[ResolvedDependency]) -> list[ResolvedDependency]:
    """The rows with `via` filled in: from a row at depth d, the smallest-named parent at depth d-1,
    and so on up to depth 1 — a shortest path from the root, chosen the same way on every run.
    Each row's path is built once from its parent's (rows are visited by depth), so the work is
    linear in rows + parents times the depth, which MAX_PATH_DEPTH bounds."""
    by_key = {row.key: row for row in rows}
    paths: dict[str, tuple[str, ...]] = {}
    for row in sorted(rows, key=lambda row: row.depth):
        if row.depth == 1:
            paths[row.key] = ()
        elif 1 < row.depth <= MAX_PATH_DEPTH:
            step = min(
                (
                    parent
                    for parent in row.parents
                    if (found := by_key.get(parent)) is not None and found.depth == row.depth - 1
                ),
                default=None,
            )
            if step is not None and step in paths:
                paths[row.key] = (*paths[step], step)
    return [replace(row, via=paths[row.key]) if paths.get(row.key) else row for row in rows]


# --- readers ---------------------------------------------------------------------------------------


class _StringLoader(getattr(yaml, "CBaseLoader", yaml.BaseLoader)):  # type: ignore[misc]
    """YAML with every scalar a string (no `1.10` read as a float) and no aliases.

    Lockfiles never use anchors; refusing aliases keeps an alias bomb (one mapping referenced a
    million times) from turning a small file into unbounded work for the parser walking it.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            raise yaml.constructor.ConstructorError(None, None, "aliases are not allowed", node.start_mark)
        return super().construct_object(node, deep)


def load_yaml(path: str, data: bytes) -> Table:
    """A YAML lockfile (pnpm, yarn Berry) whose top level is a mapping; every scalar a string."""
    try:
        doc = yaml.load(decode_text(path, data), Loader=_StringLoader)  # noqa: S506 - a BaseLoader: no object construction
    except (yaml.YAMLError, RecursionError) as exc:
        raise ManifestError(f"{path}: invalid YAML: {exc!s:.300}") from exc
    if not isinstance(doc, dict):
        raise ManifestError(f"{path}: expected a mapping at the top level, got {type(doc).__name__}")
    return doc


def mapping(path: str, value: object, *where: object) -> Table:
    """A field that must be a mapping when present (absent or null is empty).

    `where` names the field in parts, joined only for the message: a lock of 100,000 packages
    should not format 100,000 strings it never shows.
    """
    if isinstance(value, dict):
        return value
    if value is None:
        return {}
    raise ManifestError(f"{path}: {_where(where)} must be a mapping, got {type(value).__name__}")


def sequence(path: str, value: object, *where: object) -> list[Any]:
    if isinstance(value, list):
        return value
    if value is None:
        return []
    raise ManifestError(f"{path}: {_where(where)} must be a list, got {type(value).__name__}")


def string(path: str, value: object, *where: object) -> str:
    if not isinstance(value, str) or not value:
        raise ManifestError(f"{path}: {_where(where)} must be a non-empty string, got {value!r:.60}")
    return value


def _where(parts: tuple[object, ...]) -> str:
    return " ".join(part if isinstance(part, str) else repr(part) for part in parts)[:200]


def flag(value: object) -> bool | None:
    """A boolean field: JSON/TOML true/false or YAML's strings; anything else is "not said"."""
    if value is True or value == "true":
        return True
    if value is False or value == "false":
        return False
    return None


def sibling(path: str, name: str) -> str:
    """`name` (which may go down into directories) relative to the lockfile's directory."""
    directory = path.rpartition("/")[0]
    return posixpath.normpath(f"{directory}/{name}") if directory else posixpath.normpath(name)


def sibling_bytes(path: str, name: str, read: ReadFile) -> bytes | None:
    return read(sibling(path, name))


def sibling_json(path: str, name: str, read: ReadFile) -> Table:
    """A JSON manifest beside the lockfile, or {}: a broken manifest is its own parser's to report."""
    return _sibling_table(path, name, read, load_json_object)


def sibling_toml(path: str, name: str, read: ReadFile) -> Table:
    """A TOML manifest beside the lockfile, or {} (as `sibling_json`)."""
    return _sibling_table(path, name, read, load_toml)


def _sibling_table(path: str, name: str, read: ReadFile, load: Callable[[str, bytes], Table]) -> Table:
    data = read(sibling(path, name))
    if data is None:
        return {}
    try:
        return load(name, data)
    except ManifestError:
        return {}
    try:
        return load_toml(name, data)
    except ManifestError:
        return {}
