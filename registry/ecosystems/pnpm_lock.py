"""pnpm's `pnpm-lock.yaml`, lockfile versions 5.x to 9.

What changed between versions is how a package is named, not the shape of the graph:

- 5.x: keys `/name/1.2.3` (peers after `_`), importer values are bare versions;
- 6.x and 7.x: keys `/name@1.2.3` (peers in parentheses), importer values `{specifier, version}`;
- 9.x: keys `name@1.2.3` without the slash; `packages` holds only metadata and the graph moved to
  `snapshots` (one per peer variant, `name@1.2.3(peer@1.0.0)`).

So a reference `name: ref` is looked up under every spelling a version could use (`ref` itself for
an alias or a URL key, `/name@ref`, `name@ref`, `/name/ref`), which reads all of them with one
code path. A single project keeps its importer at the top level (5.x, 6.x); a workspace lists
each under `importers`, and `link:` references between members are not dependencies. pnpm ≤ 8
states `dev` and `optional` per package; 9 states only `optional`, so dev is computed from the
importers' devDependencies.
"""

from __future__ import annotations

from typing import Any

from registry.ecosystems.base import ManifestError, ResolvedDependency
from registry.ecosystems.lockfile import LockGraph, flag, load_yaml, mapping

Table = dict[str, Any]

_IMPORTER_SECTIONS = {"dependencies": (False, False), "devDependencies": (True, False)}
_IMPORTER_SECTIONS["optionalDependencies"] = (False, True)


def parse(path: str, data: bytes) -> list[ResolvedDependency]:
    doc = load_yaml(path, data)
    major = _major(path, doc.get("lockfileVersion"))
    packages = mapping(path, doc.get("packages"), "packages")
    snapshots = mapping(path, doc.get("snapshots"), "snapshots")
    nodes = snapshots if major >= 9 and snapshots else packages
    graph = LockGraph(path)
    for key, raw in nodes.items():
        entry = mapping(path, raw, "packages", key)
        meta = mapping(path, packages.get(_without_peers(key, major)), "packages", key) if nodes is snapshots else {}
        identity = _identity(key, {**meta, **entry}, major)
        if identity is None:
            continue
        graph.add_package(
            key,
            *identity,
            dev=flag(entry.get("dev")),
            optional=flag(entry.get("optional")),
            hints=_hints({**meta, **entry}),
        )
        for section, optional in (("dependencies", False), ("optionalDependencies", True)):
            for name, ref in mapping(path, entry.get(section), key, section).items():
                child = _lookup(nodes, name, ref)
                if child is not None:
                    graph.add_edge(key, child, optional=optional)
    importers = mapping(path, doc.get("importers"), "importers") if "importers" in doc else {".": doc}
    for importer, raw in importers.items():
        sections = mapping(path, raw, "importers", importer)
        for section, (dev, optional) in _IMPORTER_SECTIONS.items():
            for name, ref in mapping(path, sections.get(section), importer, section).items():
                child = _lookup(nodes, name, ref.get("version") if isinstance(ref, dict) else ref)
                if child is not None:
                    graph.add_direct(child, dev=dev, optional=optional, importer=str(importer))
    return graph.resolve()


def _major(path: str, version: object) -> int:
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        raise ManifestError(f"{path}: unknown lockfileVersion {version!r:.40}") from None


def _lookup(nodes: Table, name: object, ref: object) -> str | None:
    if not isinstance(name, str) or not isinstance(ref, str) or ref.startswith("link:"):
        return None
    for key in (ref, f"/{name}@{ref}", f"{name}@{ref}", f"/{name}/{ref}", f"/{ref}"):
        if key in nodes:
            return key
    return None


def _without_peers(key: str, major: int) -> str:
    """`a@1.0.0(b@2.0.0)(c@3)` -> `a@1.0.0`: the `packages` key of a 9.x snapshot."""
    return key.split("(", 1)[0] if major >= 6 else key


def _identity(key: str, entry: Table, major: int) -> tuple[str, str] | None:
    """(name, version) of a package key; tarball and git keys carry both in the entry instead."""
    name, version = entry.get("name"), entry.get("version")
    if isinstance(name, str) and name and isinstance(version, str) and version:
        return name, version
    bare = key[1:] if key.startswith("/") else key
    if major >= 6:
        bare = bare.split("(", 1)[0]
        at = bare.rfind("@")
        name, version = (bare[:at], bare[at + 1 :]) if at > 0 else ("", "")
    else:
        name, _, version = bare.rpartition("/")
        version = version.split("_", 1)[0]
    return (name, version) if name and version else None


def _hints(entry: Table) -> Table:
    resolution = entry.get("resolution")
    if isinstance(resolution, dict) and isinstance(resolution.get("tarball"), str):
        return {"tarball": resolution["tarball"]}
    return {}
