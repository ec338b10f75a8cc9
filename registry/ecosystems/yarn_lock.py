"""yarn's `yarn.lock`: classic (v1, a format of its own) and Berry (v2+, YAML with `__metadata`).

Both map descriptors (`name@range`, several per entry) to one resolved package with its own
`dependencies` as `name: range`; an edge is found by looking the child's descriptor up. There is
no maintained Python reader of the classic format, so `_classic` is a small strict one for what
yarn 1 writes: top-level descriptor lines ending in `:`, two-space `key value` fields, and one
level of four-space maps (`dependencies:`, `optionalDependencies:`). Anything else is refused.

Neither format says which packages are direct or dev: package.json does. Berry lists each
workspace as an entry (`name@workspace:path`) whose dependencies are its direct ones; the
member's package.json (through `read`) says which of them are devDependencies. Classic lists no
workspaces, so when package.json is missing or declares `workspaces`, the entries that nothing in
the lock depends on are taken as the direct ones as well.
"""

from __future__ import annotations

import json
import re
from typing import Any

from registry.ecosystems.base import ManifestError, ReadFile, ResolvedDependency, decode_text
from registry.ecosystems.lockfile import LockGraph, flag, load_yaml, mapping, sibling_json, string

Table = dict[str, Any]

_BERRY = re.compile(r"^__metadata:", re.MULTILINE)
_ITEM = re.compile(r'\s*("(?:[^"\\]|\\.)*"|[^,"]+)\s*(?:,|$)')
_SECTIONS = {"dependencies": (False, False), "devDependencies": (True, False), "optionalDependencies": (False, True)}


def parse(path: str, data: bytes, read: ReadFile) -> list[ResolvedDependency]:
    content = decode_text(path, data)
    if _BERRY.search(content):
        return _berry(path, load_yaml(path, data), read)
    return _classic_graph(path, _classic(path, content), read).resolve()


def package_name(descriptor: str) -> str:
    """`@scope/name@range` -> `@scope/name`; the name ends at the first `@` after its first character."""
    at = descriptor.find("@", 1)
    return descriptor if at < 0 else descriptor[:at]


# --- classic ---------------------------------------------------------------------------------------


def _classic(path: str, content: str) -> dict[str, Table]:
    """Descriptor -> entry ({field: value, section: {name: range}}), shared by the descriptors of one entry."""
    entries: dict[str, Table] = {}
    entry: Table | None = None
    section: Table | None = None
    for number, raw in enumerate(content.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        where = f"{path}:{number}"
        if indent == 0:
            if not stripped.endswith(":"):
                raise ManifestError(f"{where}: expected `descriptor, ...:` at the start of an entry")
            entry, section = {}, None
            for descriptor in _descriptors(where, stripped[:-1]):
                entries[descriptor] = entry
        elif indent == 2 and entry is not None:
            if stripped.endswith(":"):
                section = entry[_unquote(where, stripped[:-1])] = {}
            else:
                key, value = _pair(where, stripped)
                entry[key], section = value, None
        elif indent == 4 and section is not None:
            key, value = _pair(where, stripped)
            section[key] = value
        else:
            raise ManifestError(f"{where}: unexpected indentation for a yarn v1 lockfile")
    return entries


def _descriptors(where: str, line: str) -> list[str]:
    found, position = [], 0
    while position < len(line):
        match = _ITEM.match(line, position)
        if match is None or match.end() == position:
            raise ManifestError(f"{where}: cannot read the descriptors {line[:80]!r}")
        found.append(_unquote(where, match.group(1).strip()))
        position = match.end()
    return found


def _pair(where: str, line: str) -> tuple[str, str]:
    if line.startswith('"'):
        match = re.match(r'"(?:[^"\\]|\\.)*"', line)
        if match is None:
            raise ManifestError(f"{where}: unterminated string")
        key, rest = _unquote(where, match.group(0)), line[match.end() :]
    else:
        key, _, rest = line.partition(" ")
    value = rest.strip()
    if not key or not value:
        raise ManifestError(f"{where}: expected `key value`, got {line[:80]!r}")
    return key, _unquote(where, value)


def _unquote(where: str, value: str) -> str:
    if not value.startswith('"'):
        return value
    try:
        unquoted = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{where}: invalid quoted string {value[:80]!r}") from exc
    if not isinstance(unquoted, str):
        raise ManifestError(f"{where}: invalid quoted string {value[:80]!r}")
    return unquoted


def _classic_graph(path: str, entries: dict[str, Table], read: ReadFile) -> LockGraph:
    graph = LockGraph(path)
    ids = {id(entry): descriptor for descriptor, entry in reversed(entries.items())}  # first descriptor names it
    required: set[str] = set()
    for descriptor, entry in entries.items():
        node = ids[id(entry)]
        if node != descriptor:
            continue
        version = string(path, entry.get("version"), "the version of", descriptor)
        graph.add_package(node, _real_name(descriptor), version, hints=_classic_hints(entry))
        for section, optional in (("dependencies", False), ("optionalDependencies", True)):
            for name, range_ in mapping(path, entry.get(section), descriptor, section).items():
                child = entries.get(f"{name}@{range_}")
                if child is not None:
                    graph.add_edge(node, ids[id(child)], optional=optional)
                    required.add(ids[id(child)])
    manifest = sibling_json(path, "package.json", read)
    for section, (dev, optional) in _SECTIONS.items():
        for name, range_ in mapping(path, manifest.get(section), f"package.json {section}").items():
            child = entries.get(f"{name}@{range_}")
            if child is not None:
                graph.add_direct(ids[id(child)], dev=dev, optional=optional)
    if not manifest or "workspaces" in manifest:
        for node in graph.nodes:
            if node not in required:
                graph.add_direct(node, importer="?")
    return graph


def _real_name(descriptor: str) -> str:
    """An alias `x@npm:y@^1` installs y."""
    name = package_name(descriptor)
    range_ = descriptor[len(name) + 1 :]
    return package_name(range_[4:]) if range_.startswith("npm:") else name


def _classic_hints(entry: Table) -> Table:
    resolved = entry.get("resolved")
    return {"resolved": resolved} if isinstance(resolved, str) else {}


# --- Berry -----------------------------------------------------------------------------------------


def _berry(path: str, doc: Table, read: ReadFile) -> list[ResolvedDependency]:
    graph = LockGraph(path)
    by_descriptor: dict[str, str] = {}
    entries: dict[str, Table] = {}
    for key, raw in doc.items():
        if key == "__metadata":
            continue
        entry = mapping(path, raw, "entry", key)
        resolution = string(path, entry.get("resolution"), "the resolution of", key)
        entries[resolution] = entry
        for descriptor in str(key).split(","):
            by_descriptor[descriptor.strip()] = resolution
    for resolution, entry in entries.items():
        workspace = _workspace(resolution)
        if workspace is None:
            version = string(path, entry.get("version"), "the version of", resolution)
            graph.add_package(resolution, package_name(resolution), version, hints=_berry_hints(entry))
        optional_meta = _optional_meta(path, entry)
        dev_names = _dev_names(path, workspace, read) if workspace is not None else set()
        for section in ("dependencies", "optionalDependencies"):
            for name, range_ in mapping(path, entry.get(section), resolution, section).items():
                child = by_descriptor.get(f"{name}@{range_}") or by_descriptor.get(f"{name}@npm:{range_}")
                if child is None:
                    continue
                optional = section == "optionalDependencies" or name in optional_meta
                if workspace is None:
                    graph.add_edge(resolution, child, optional=optional)
                elif _workspace(child) is None:
                    graph.add_direct(child, dev=name in dev_names, optional=optional, importer=workspace)
    return graph.resolve()


def _workspace(resolution: str) -> str | None:
    name = package_name(resolution)
    reference = resolution[len(name) + 1 :]
    if not reference.startswith("workspace:"):
        return None
    return reference[len("workspace:") :] or "."


def _optional_meta(path: str, entry: Table) -> set[str]:
    meta = mapping(path, entry.get("dependenciesMeta"), "dependenciesMeta")
    return {name for name, info in meta.items() if isinstance(info, dict) and flag(info.get("optional"))}


def _dev_names(path: str, workspace: str, read: ReadFile) -> set[str]:
    """devDependencies of a workspace that are not also runtime dependencies (Berry merges the two)."""
    manifest = sibling_json(path, f"{workspace}/package.json", read)
    dev = manifest.get("devDependencies")
    runtime = manifest.get("dependencies")
    return set(dev if isinstance(dev, dict) else ()) - set(runtime if isinstance(runtime, dict) else ())


def _berry_hints(entry: Table) -> Table:
    hints: Table = {}
    if isinstance(entry.get("conditions"), str):
        hints["conditions"] = entry["conditions"]
    if entry.get("linkType") == "soft":
        hints["link"] = True
    return hints
