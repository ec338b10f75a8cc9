"""npm: `package.json`.

Each `package.json` is parsed on its own, workspace members included: the indexer visits every
member file, so a workspace root only contributes what it declares itself. Ranges are stored as
written — `workspace:*`, `catalog:`, `npm:other@^1`, git and file URLs alike — because they are
what the author declared and only a package manager can resolve them.
"""

from __future__ import annotations

from typing import Any

from registry.ecosystems.base import Dependency, PackageDef, ParseResult, ReadFile, load_json_object

LANGUAGE = "npm"

# The sections whose values are {name: range}, in the order npm documents them.
_RANGE_SECTIONS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
# npm accepts both spellings; the result is stored under the documented one.
_BUNDLED_KEYS = ("bundledDependencies", "bundleDependencies")
_BUNDLED = "bundledDependencies"


def matches(path: str) -> bool:
    """A `package.json`, except copies installed under `node_modules` (they are not the repo's own)."""
    parts = path.split("/")
    return parts[-1] == "package.json" and "node_modules" not in parts[:-1]


def parse(path: str, data: bytes, read: ReadFile) -> ParseResult:
    """Read the package's own name/version and every dependency section."""
    del read  # package.json never refers to other files we would need to resolve
    doc = load_json_object(path, data)
    packages = _package(path, doc)
    deps: list[Dependency] = []
    for section in _RANGE_SECTIONS:
        deps += _range_section(path, doc, section)
    deps += _bundled(path, doc)
    return ParseResult(LANGUAGE, packages, deps)


def _package(path: str, doc: dict[str, Any]) -> list[PackageDef]:
    """A package.json without a name (a private monorepo root, an app) defines no package."""
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        return []
    version = doc.get("version")
    return [PackageDef(name.strip(), version if isinstance(version, str) else None, path)]


def _section(doc: dict[str, Any], key: str) -> dict[str, str]:
    """Entries of a {name: range} section; npm ignores anything that is not a string range, so do we."""
    value = doc.get(key)
    if not isinstance(value, dict):
        return {}
    return {name: spec for name, spec in value.items() if isinstance(name, str) and isinstance(spec, str)}


def _range_section(path: str, doc: dict[str, Any], section: str) -> list[Dependency]:
    optional_peers = _optional_peers(doc) if section == "peerDependencies" else set()
    deps = []
    for name, spec in _section(doc, section).items():
        hints: dict[str, Any] = {"optional": True} if name in optional_peers else {}
        deps.append(Dependency(name, spec, section, path, hints))
    return deps


def _optional_peers(doc: dict[str, Any]) -> set[str]:
    """Peers marked optional in `peerDependenciesMeta`: worth keeping, since they are not installed."""
    meta = doc.get("peerDependenciesMeta")
    if not isinstance(meta, dict):
        return set()
    return {name for name, info in meta.items() if isinstance(info, dict) and info.get("optional") is True}


def _bundled(path: str, doc: dict[str, Any]) -> list[Dependency]:
    """Bundled entries are bare names (or `true` for "all of dependencies"); their range lives in dependencies."""
    runtime = _section(doc, "dependencies")
    names: list[str] = []
    for key in _BUNDLED_KEYS:
        value = doc.get(key)
        if value is True:
            names += list(runtime)
        elif isinstance(value, list):
            names += [name for name in value if isinstance(name, str)]
    unique = list(dict.fromkeys(names))
    return [Dependency(name, runtime.get(name, ""), _BUNDLED, path) for name in unique]
