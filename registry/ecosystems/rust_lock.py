"""Rust: `Cargo.lock`, versions 1 to 4, read with tomllib.

Every version is a list of `[[package]]` with `dependencies = [...]` naming other packages as
`name`, `name version` or `name version (source)` — the shortest form that is unambiguous in the
lock (v1 always writes the long one, and keeps checksums in `[metadata]` instead of on each
package). The roots are the packages without a `source`: the workspace members and path
dependencies, which are the repository's own code, so they are not rows themselves and what they
depend on is direct.

Cargo.lock does not separate dev-dependencies; the members' Cargo.toml do. The root manifest and
every member it lists by name in `[workspace] members` are read through `read` (a glob such as
`crates/*` cannot be listed, so those members count as non-dev); a direct dependency that a
member declares only under `[dev-dependencies]` is dev, and so is whatever only it leads to.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from registry.ecosystems import rust
from registry.ecosystems.base import LockParseResult, ManifestError, ReadFile, load_toml
from registry.ecosystems.lockfile import LockGraph, mapping, sequence, sibling, sibling_toml, string

LANGUAGE = rust.LANGUAGE
LOCKFILES = ("Cargo.lock",)

Table = dict[str, Any]
_REFERENCE = re.compile(r"^(\S+)(?: (\S+))?(?: \((.+)\))?$")
_METADATA_CHECKSUM = re.compile(r"^checksum (\S+) (\S+) \((.+)\)$")


def matches_lockfile(path: str) -> bool:
    return posixpath.basename(path) == "Cargo.lock"


def parse_lock(path: str, data: bytes, read: ReadFile) -> LockParseResult:
    doc = load_toml(path, data)
    checksums = _v1_checksums(mapping(path, doc.get("metadata"), "[metadata]"))
    graph = LockGraph(path)
    packages: list[tuple[str, Table]] = []
    by_name: dict[str, list[str]] = {}
    by_version: dict[tuple[str, str], list[str]] = {}
    roots: dict[str, str] = {}  # node -> crate name, for the packages without a source
    for raw in sequence(path, doc.get("package"), "package"):
        package = mapping(path, raw, "a [[package]]")
        name = string(path, package.get("name"), "a package's name")
        version = string(path, package.get("version"), f"the version of {name}")
        source = package.get("source")
        node = f"{name} {version}" + (f" ({source})" if isinstance(source, str) else "")
        by_name.setdefault(name, []).append(node)
        by_version.setdefault((name, version), []).append(node)
        packages.append((node, package))
        if not isinstance(source, str):
            roots[node] = name
            continue
        checksum = package.get("checksum") or checksums.get(node)
        hints = {"source": source, **({"checksum": checksum} if isinstance(checksum, str) else {})}
        graph.add_package(node, name, version, hints=hints)
    dev_only = _dev_only(path, read)
    for node, package in packages:
        for reference in sequence(path, package.get("dependencies"), f"the dependencies of {node}"):
            child = _resolve(path, reference, by_name, by_version)
            if child in roots or child is None:
                continue
            if node in roots:
                name = graph.nodes[child].package
                graph.add_direct(child, dev=name in dev_only.get(roots[node], ()), importer=roots[node])
            else:
                graph.add_edge(node, child)
    return LockParseResult(LANGUAGE, graph.resolve())


def _resolve(
    path: str, reference: object, by_name: dict[str, list[str]], by_version: dict[tuple[str, str], list[str]]
) -> str | None:
    match = _REFERENCE.match(string(path, reference, "a dependency"))
    if match is None:
        raise ManifestError(f"{path}: cannot read the dependency {reference!r:.80}")
    name, version, source = match.groups()
    if version is None:
        candidates = by_name.get(name, [])
    elif source is None:
        candidates = by_version.get((name, version), [])
    else:
        candidates = [node for node in by_version.get((name, version), []) if node.endswith(f"({source})")]
    return candidates[0] if candidates else None


def _v1_checksums(metadata: Table) -> dict[str, str]:
    """v1's `"checksum name version (source)" = "hash"`, keyed like the nodes."""
    found = {}
    for key, value in metadata.items():
        match = _METADATA_CHECKSUM.match(str(key))
        if match is not None and isinstance(value, str):
            found[f"{match[1]} {match[2]} ({match[3]})"] = value
    return found


def _dev_only(path: str, read: ReadFile) -> dict[str, set[str]]:
    """Crate name -> the crates its manifest declares only as dev-dependencies."""
    manifests = ["Cargo.toml"]
    workspace = sibling_toml(path, "Cargo.toml", read).get("workspace")
    members = workspace.get("members") if isinstance(workspace, dict) else None
    if isinstance(members, list):
        manifests += [f"{member}/Cargo.toml" for member in members if isinstance(member, str) and "*" not in member]
    found: dict[str, set[str]] = {}
    for manifest in manifests:
        data = read(sibling(path, manifest))
        if data is None:
            continue
        try:
            result = rust.parse(sibling(path, manifest), data, read)
        except ManifestError:
            continue
        if not result.packages:
            continue
        dev = {dep.package for dep in result.dependencies if dep.dep_type == "dev-dependencies"}
        dev -= {dep.package for dep in result.dependencies if dep.dep_type != "dev-dependencies"}
        found[result.packages[0].name] = dev
    return found
