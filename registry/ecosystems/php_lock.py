"""PHP: Composer's `composer.lock` (JSON).

`packages` are installed for production and `packages-dev` only for development, which is
Composer's own dev flag. Each package's `require` names the packages it pulls in (the graph);
platform requirements (`php`, `ext-*`) are not packages and are skipped, and a name another
package `replace`s or `provide`s leads to that package. composer.json beside the lock gives the
direct ones (`require`, `require-dev`); without it, the packages nothing requires stand in.
Names are lowercased (Composer's are case-insensitive); versions are as locked (`v5.4.0`,
`dev-main`), with the commit in hints when the lock has one.
"""

from __future__ import annotations

from typing import Any

from registry.ecosystems import php
from registry.ecosystems.base import LockParseResult, ReadFile, load_json_object
from registry.ecosystems.lockfile import LockGraph, mapping, sequence, sibling_json, string

LANGUAGE = php.LANGUAGE
LOCKFILES = ("composer.lock",)

Table = dict[str, Any]


def matches_lockfile(path: str) -> bool:
    parts = path.split("/")
    return parts[-1] == "composer.lock" and "vendor" not in parts[:-1]


def parse_lock(path: str, data: bytes, read: ReadFile) -> LockParseResult:
    doc = load_json_object(path, data)
    graph = LockGraph(path)
    by_name: dict[str, str] = {}
    locked: list[tuple[str, Table]] = []
    for section, dev in (("packages", False), ("packages-dev", True)):
        for raw in sequence(path, doc.get(section), section):
            package = mapping(path, raw, f"a package in {section}")
            name = php.normalise_name(string(path, package.get("name"), f"a package's name in {section}"))
            version = string(path, package.get("version"), f"the version of {name}")
            node = f"{name}@{version}"
            graph.add_package(node, name, version, dev=dev, hints=_hints(package))
            locked.append((node, package))
            by_name.setdefault(name, node)
            for key in ("replace", "provide"):
                for other in mapping(path, package.get(key), f"{name} {key}"):
                    by_name.setdefault(php.normalise_name(str(other)), node)
    for node, package in locked:
        for required in mapping(path, package.get("require"), f"{node} require"):
            child = by_name.get(php.normalise_name(str(required)))
            if child is not None and child != node:
                graph.add_edge(node, child)
    manifest = sibling_json(path, "composer.json", read)
    declared: list[tuple[str, bool]] = []
    for section in ("require", "require-dev"):
        entries = manifest.get(section)
        if isinstance(entries, dict):
            declared += [(php.normalise_name(str(name)), section == "require-dev") for name in entries]
    if not manifest:
        children = {edge.child for edges in graph.edges.values() for edge in edges}
        declared = [(graph.nodes[node].package, False) for node in graph.nodes if node not in children]
    for name, dev in declared:
        if name in by_name:
            graph.add_direct(by_name[name], dev=dev)
    return LockParseResult(LANGUAGE, graph.resolve())


def _hints(package: Table) -> Table:
    source = package.get("source")
    if isinstance(source, dict) and isinstance(source.get("reference"), str):
        return {"reference": source["reference"]}
    return {}
