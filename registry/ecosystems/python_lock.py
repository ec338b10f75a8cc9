"""Python's lockfiles: `poetry.lock` and `uv.lock` (TOML, read with tomllib), and `Pipfile.lock` (JSON).

poetry.lock lists packages with their dependencies by name (a package may be locked at several
versions under different markers: an edge then goes to each). What is direct comes from the
sibling pyproject.toml, read by the manifest parser (`python.parse`): `[project]`, Poetry's
tables, PEP 735 groups; anything but the main group is dev. The lock's own flags win when it has
them: `category = "dev"` (Poetry < 1.5) or `groups` without "main" (Poetry 2), and
`optional = true` for a package only an extra pulls in.

uv.lock names the project itself (a package whose `source` is `editable` or `virtual`; several
in a workspace): its `dependencies`, `optional-dependencies` and `dev-dependencies` are the direct
edges. Another package's extras count only where some edge asks for them (`extra = [...]`).

Pipfile.lock has no graph — `default` and `develop` are flat lists of pins — so a package the
Pipfile names is direct (depth 1) and every other one has depth 0 (unknown).
"""

from __future__ import annotations

import posixpath
from typing import Any

from registry.ecosystems import python
from registry.ecosystems.base import (
    LockParseResult,
    ManifestError,
    ReadFile,
    ResolvedDependency,
    load_json_object,
    load_toml,
)
from registry.ecosystems.lockfile import LockGraph, flag, mapping, sequence, sibling, string

LANGUAGE = python.LANGUAGE
LOCKFILES = ("poetry.lock", "uv.lock", "Pipfile.lock")

Table = dict[str, Any]
_ROOT_SOURCES = ("editable", "virtual")


def matches_lockfile(path: str) -> bool:
    return posixpath.basename(path) in LOCKFILES


def parse_lock(path: str, data: bytes, read: ReadFile) -> LockParseResult:
    name = posixpath.basename(path)
    if name == "Pipfile.lock":
        return LockParseResult(LANGUAGE, _pipfile_lock(path, load_json_object(path, data), read))
    doc = load_toml(path, data)
    graph = _uv(path, doc) if name == "uv.lock" else _poetry(path, doc, read)
    return LockParseResult(LANGUAGE, graph.resolve())


def _packages(path: str, doc: Table) -> list[Table]:
    return [mapping(path, raw, "a [[package]]") for raw in sequence(path, doc.get("package"), "package")]


def _declared(path: str, read: ReadFile) -> list[tuple[str, bool, bool]]:
    """(package, dev, optional) for each dependency pyproject.toml declares; [] when there is none."""
    data = read(sibling(path, "pyproject.toml"))
    if data is None:
        return []
    try:
        declared = python.parse(sibling(path, "pyproject.toml"), data, read).dependencies
    except ManifestError:
        return []
    found = []
    for dep in declared:
        dev = dep.dep_type.startswith("group:") and dep.dep_type != "group:main"
        optional = dep.dep_type.startswith("optional:") or dep.hints.get("optional") is True
        found.append((dep.package, dev, optional))
    return found


# --- poetry.lock -----------------------------------------------------------------------------------


def _poetry(path: str, doc: Table, read: ReadFile) -> LockGraph:
    graph = LockGraph(path)
    by_name: dict[str, list[str]] = {}
    packages = _packages(path, doc)
    for package in packages:
        name = python.normalise_name(string(path, package.get("name"), "a package's name"))
        version = string(path, package.get("version"), f"the version of {name}")
        node = f"{name}@{version}"
        by_name.setdefault(name, []).append(node)
        graph.add_package(node, name, version, dev=_poetry_dev(package), optional=flag(package.get("optional")))
    for package in packages:
        node = f"{python.normalise_name(package['name'])}@{package['version']}"
        for dep in mapping(path, package.get("dependencies"), f"{node} dependencies"):
            for child in by_name.get(python.normalise_name(str(dep)), ()):
                graph.add_edge(node, child)
    _add_declared(graph, by_name, _declared(path, read))
    return graph


def _poetry_dev(package: Table) -> bool | None:
    groups = package.get("groups")
    if isinstance(groups, list) and groups:
        return "main" not in groups
    category = package.get("category")
    return category == "dev" if isinstance(category, str) else None


def _add_declared(graph: LockGraph, by_name: dict[str, list[str]], declared: list[tuple[str, bool, bool]]) -> None:
    """Direct edges from pyproject.toml; without one, the packages nothing depends on stand in for them."""
    if not declared:
        required = {edge.child for edges in graph.edges.values() for edge in edges}
        declared = [(graph.nodes[node].package, False, False) for node in graph.nodes if node not in required]
    for name, dev, optional in declared:
        for child in by_name.get(name, ()):
            graph.add_direct(child, dev=dev, optional=optional)


# --- uv.lock ---------------------------------------------------------------------------------------


def _uv(path: str, doc: Table) -> LockGraph:
    graph = LockGraph(path)
    packages = _packages(path, doc)
    by_name: dict[str, list[str]] = {}
    roots: list[tuple[str, Table]] = []
    nodes: list[tuple[str, Table]] = []
    for package in packages:
        name = python.normalise_name(string(path, package.get("name"), "a package's name"))
        version = package.get("version")
        source = mapping(path, package.get("source"), f"the source of {name}")
        node = f"{name}@{version}" if isinstance(version, str) else name
        by_name.setdefault(name, []).append(node)
        if any(key in source for key in _ROOT_SOURCES):
            roots.append((node, package))
            continue
        graph.add_package(node, name, string(path, version, f"the version of {name}"), hints=_uv_hints(source))
        nodes.append((node, package))
    extras = _requested_extras(path, packages)

    def targets(entry: object) -> list[str]:
        spec = mapping(path, entry, "a dependency")
        name = python.normalise_name(string(path, spec.get("name"), "a dependency's name"))
        version = spec.get("version")
        return [f"{name}@{version}"] if isinstance(version, str) else by_name.get(name, [])

    for node, package in nodes:
        lists = [package.get("dependencies")]
        optional = mapping(path, package.get("optional-dependencies"), f"{node} optional-dependencies")
        lists += [entries for extra, entries in optional.items() if extra in extras.get(node.split("@")[0], ())]
        for entries in lists:
            for entry in sequence(path, entries, f"{node} dependencies"):
                for child in targets(entry):
                    graph.add_edge(node, child)
    for node, package in roots:
        sections = [(package.get("dependencies"), False, False)]
        sections += [(e, False, True) for e in mapping(path, package.get("optional-dependencies"), "extras").values()]
        sections += [(e, True, False) for e in mapping(path, package.get("dev-dependencies"), "groups").values()]
        for entries, dev, opt in sections:
            for entry in sequence(path, entries, f"{node} dependencies"):
                for child in targets(entry):
                    if child in graph.nodes:
                        graph.add_direct(child, dev=dev, optional=opt, importer=node)
    return graph


def _requested_extras(path: str, packages: list[Table]) -> dict[str, set[str]]:
    """Package name -> the extras some dependency entry asks of it (`{ name = "x", extra = ["socks"] }`)."""
    requested: dict[str, set[str]] = {}
    for package in packages:
        lists = [package.get("dependencies")]
        for key in ("optional-dependencies", "dev-dependencies"):
            lists += list(mapping(path, package.get(key), key).values())
        for entries in lists:
            for entry in sequence(path, entries, "dependencies"):
                spec = mapping(path, entry, "a dependency")
                extra = spec.get("extra")
                if isinstance(extra, list) and isinstance(spec.get("name"), str):
                    names = {item for item in extra if isinstance(item, str)}
                    requested.setdefault(python.normalise_name(spec["name"]), set()).update(names)
    return requested


def _uv_hints(source: Table) -> Table:
    return {"source": {key: value for key, value in source.items() if isinstance(value, str)}} if source else {}


# --- Pipfile.lock ----------------------------------------------------------------------------------


def _pipfile_lock(path: str, doc: Table, read: ReadFile) -> list[ResolvedDependency]:
    direct = _pipfile_names(path, read)
    default = mapping(path, doc.get("default"), "default")
    develop = mapping(path, doc.get("develop"), "develop")
    rows: dict[tuple[str, str], ResolvedDependency] = {}
    for section, dev in ((develop, True), (default, False)):  # default last: it wins over develop
        for raw_name, raw in section.items():
            entry = mapping(path, raw, f"{raw_name!r}")
            version = _pin(entry)
            if version is None:
                continue  # a local path (the project itself, installed editable): not a dependency
            name = python.normalise_name(str(raw_name))
            is_direct = direct is not None and name in direct
            hints = {key: entry[key] for key in ("markers", "git", "index") if isinstance(entry.get(key), str)}
            rows[(name, version)] = ResolvedDependency(
                name, version, is_direct, 1 if is_direct else 0, (), dev, False, path, hints
            )
    return [rows[key] for key in sorted(rows)]


def _pin(entry: Table) -> str | None:
    version = entry.get("version")
    if isinstance(version, str) and version:
        return version.lstrip("=")
    ref = entry.get("ref")
    return ref if isinstance(ref, str) and ref else None


def _pipfile_names(path: str, read: ReadFile) -> set[str] | None:
    data = read(sibling(path, "Pipfile"))
    if data is None:
        return None
    try:
        declared = python.parse(sibling(path, "Pipfile"), data, read).dependencies
    except ManifestError:
        return None
    return {dep.package for dep in declared}
