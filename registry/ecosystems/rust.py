"""Rust: Cargo's `Cargo.toml`, read with `tomllib`.

Workspace inheritance is resolved the way Cargo does it: a member's `x.workspace = true` takes
the entry from the workspace root's `[workspace.dependencies]`, and `version.workspace = true`
takes `[workspace.package].version`. The root is the nearest Cargo.toml with a `[workspace]`
table, looking first at the manifest itself (or at `package.workspace` when set), then up the
parent directories through `read()` until the repository root.

A dependency's `package` is the crate's real name (`tui = { package = "helix-tui" }` depends on
`helix-tui`); the local name goes to hints as `alias`. The root's `[workspace.dependencies]` are
only a catalogue for members, never dependencies of the root itself.
"""

from __future__ import annotations

import posixpath
import tomllib
from typing import Any

from registry.ecosystems.base import Dependency, ManifestError, PackageDef, ParseResult, ReadFile

LANGUAGE = "rust"

# Section -> dep_type; the underscore spellings are Cargo's deprecated (still accepted) aliases.
_SECTIONS = {
    "dependencies": "dependencies",
    "dev-dependencies": "dev-dependencies",
    "dev_dependencies": "dev-dependencies",
    "build-dependencies": "build-dependencies",
    "build_dependencies": "build-dependencies",
}
# Keys of a dependency table copied to hints (`path` is renamed: hints' "path" is the manifest's).
_SOURCE_HINTS = {"git": "git", "branch": "branch", "tag": "tag", "rev": "rev", "registry": "registry"}

Table = dict[str, Any]


def matches(path: str) -> bool:
    return path.split("/")[-1] == "Cargo.toml"


def parse(path: str, data: bytes, read: ReadFile) -> ParseResult:
    """The `[package]` this manifest defines and its dependency tables, workspace entries resolved."""
    doc = _load(path, data)
    root = _workspace_root(path, doc, read)
    catalogue = _table(_table(root.get("workspace")).get("dependencies"))
    deps: list[Dependency] = []
    for key, dep_type in _SECTIONS.items():
        deps += _section(path, doc.get(key), dep_type, catalogue, None)
    for target, spec in _table(doc.get("target")).items():
        for key, dep_type in _SECTIONS.items():
            deps += _section(path, _table(spec).get(key), dep_type, catalogue, target)
    return ParseResult(LANGUAGE, _package(path, doc, root), deps)


def _load(path: str, data: bytes) -> Table:
    try:
        return tomllib.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ManifestError(f"{path}: invalid TOML: {exc}") from exc


def _table(value: object) -> Table:
    """A TOML table, or an empty one: Cargo rejects other shapes, and we prefer a partial answer to none."""
    return value if isinstance(value, dict) else {}


def _workspace_root(path: str, doc: Table, read: ReadFile) -> Table:
    """The manifest itself when it has `[workspace]`, else the nearest ancestor that has one (or {})."""
    if "workspace" in doc:
        return doc
    directory = posixpath.dirname(path)
    explicit = _table(doc.get("package")).get("workspace")
    if isinstance(explicit, str):
        root_dir = posixpath.normpath(posixpath.join(directory, explicit))
        candidate = _read_toml(posixpath.join(root_dir, "Cargo.toml"), read)
        return candidate if candidate is not None and "workspace" in candidate else {}
    while directory:
        directory = posixpath.dirname(directory)
        candidate = _read_toml(posixpath.join(directory, "Cargo.toml"), read)
        if candidate is not None and "workspace" in candidate:
            return candidate
    return {}


def _read_toml(path: str, read: ReadFile) -> Table | None:
    """Another manifest of the repository; a missing or broken one is simply not a workspace root."""
    if path.startswith(("/", "../")) or path == "..":  # outside the repository
        return None
    data = read(path)
    if data is None:
        return None
    try:
        return tomllib.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return None


def _package(path: str, doc: Table, root: Table) -> list[PackageDef]:
    """A virtual workspace root (no `[package]`) defines nothing; `version.workspace = true` is inherited."""
    package = _table(doc.get("package") or doc.get("project"))
    name = package.get("name")
    if not isinstance(name, str) or not name:
        return []
    version = package.get("version")
    if isinstance(version, dict) and version.get("workspace") is True:
        version = _table(_table(root.get("workspace")).get("package")).get("version")
    return [PackageDef(name, version if isinstance(version, str) else None, path)]


def _section(path: str, entries: object, dep_type: str, catalogue: Table, target: str | None) -> list[Dependency]:
    """One table of dependencies; target-specific tables keep the dep_type and add the target to hints."""
    deps = []
    for name, spec in _table(entries).items():
        hints: dict[str, Any] = {} if target is None else {"target": target}
        dep = _dependency(path, name, spec, dep_type, catalogue, hints)
        if dep is not None:
            deps.append(dep)
    return deps


def _dependency(
    path: str, name: str, spec: object, dep_type: str, catalogue: Table, hints: dict[str, Any]
) -> Dependency | None:
    """One entry: `"1.0"`, a table, or `{ workspace = true, ... }` merged over the root's entry."""
    if isinstance(spec, str):
        return Dependency(name, spec, dep_type, path, hints)
    if not isinstance(spec, dict):
        return None
    if spec.get("workspace") is True:
        hints["workspace"] = True
        inherited = catalogue.get(name)
        # The member may only add features/optional/default-features; the source comes from the root.
        base = {"version": inherited} if isinstance(inherited, str) else _table(inherited)
        spec = {**base, **{k: v for k, v in spec.items() if k != "workspace"}}
    package = spec.get("package")
    crate = package if isinstance(package, str) and package else name
    if crate != name:
        hints["alias"] = name
    version = spec.get("version")
    hints.update(_source_hints(spec))
    return Dependency(crate, version if isinstance(version, str) else "", dep_type, path, hints)


def _source_hints(spec: Table) -> dict[str, Any]:
    """Where a non-registry dependency comes from, and whether it is optional."""
    hints: dict[str, Any] = {hint: spec[key] for key, hint in _SOURCE_HINTS.items() if isinstance(spec.get(key), str)}
    if isinstance(spec.get("path"), str):
        hints["local_path"] = spec["path"]
    if spec.get("optional") is True:
        hints["optional"] = True
    return hints
