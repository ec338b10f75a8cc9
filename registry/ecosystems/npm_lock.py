"""npm's lockfiles: `package-lock.json` / `npm-shrinkwrap.json` (lockfile v1, v2, v3), and the dispatch
to `yarn.lock` and `pnpm-lock.yaml` (yarn_lock.py, pnpm_lock.py).

v2 and v3 list every installed package under `packages`, keyed by its install path
(`node_modules/a/node_modules/b`); v1 nests the same tree under `dependencies`, which is first
flattened into that shape. A package's dependency is then found the way Node resolves it: in the
`node_modules` under the requiring package, then under each enclosing one, up to the root. The
roots are `""` and each workspace member (a path outside `node_modules`); a `link: true` entry is
a workspace member's place in `node_modules` and is not a dependency of its own.

dev/optional are npm's own flags (`dev`, `optional`, `devOptional` — the last means "installed
for dev, and as an optional dependency in production", hence optional but not dev). A v1 lock
does not say which packages are direct: package.json does; without it, the top-level packages no
other requires stand in for the direct ones.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

from registry.ecosystems import pnpm_lock, yarn_lock
from registry.ecosystems.base import LockParseResult, ManifestError, ReadFile, load_json_object
from registry.ecosystems.lockfile import LockGraph, flag, mapping, sibling_json, string

LANGUAGE = "npm"
LOCKFILES = ("package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml")

_MODULES = "node_modules/"
_MAX_NESTING = 128  # node_modules inside node_modules; npm's deepest real trees are a few dozen
# Importer sections -> (dev, optional) of the direct edge.
_IMPORTER_SECTIONS = {
    "dependencies": (False, False),
    "devDependencies": (True, False),
    "optionalDependencies": (False, True),
    "peerDependencies": (False, False),
}
_PACKAGE_SECTIONS = {"dependencies": False, "optionalDependencies": True, "peerDependencies": False}

Table = dict[str, Any]


def matches_lockfile(path: str) -> bool:
    parts = path.split("/")
    return parts[-1] in LOCKFILES and "node_modules" not in parts[:-1]


def parse_lock(path: str, data: bytes, read: ReadFile) -> LockParseResult:
    name = posixpath.basename(path)
    if name == "yarn.lock":
        return LockParseResult(LANGUAGE, yarn_lock.parse(path, data, read))
    if name == "pnpm-lock.yaml":
        return LockParseResult(LANGUAGE, pnpm_lock.parse(path, data))
    doc = load_json_object(path, data)
    if "packages" in doc:
        packages = mapping(path, doc["packages"], "packages")
        importers = [key for key in packages if not _installed(key)]
    else:
        packages = _flatten_v1(path, mapping(path, doc.get("dependencies"), "dependencies"))
        packages[""] = _v1_root(path, packages, read)
        importers = [""]
    return LockParseResult(LANGUAGE, _graph(path, packages, importers).resolve())


def _installed(install_path: str) -> bool:
    return install_path.startswith(_MODULES) or f"/{_MODULES}" in install_path


def _graph(path: str, packages: Table, importers: list[str]) -> LockGraph:
    graph = LockGraph(path)
    for install_path, raw in packages.items():
        if not isinstance(install_path, str):
            raise ManifestError(f"{path}: a package's install path must be a string")
        entry = mapping(path, raw, "packages", install_path)
        if not _installed(install_path) or entry.get("link") is not None:
            continue
        if install_path.count(_MODULES) > _MAX_NESTING:
            raise ManifestError(f"{path}: {install_path[:80]}… is nested deeper than {_MAX_NESTING} node_modules")
        version = entry.get("version")
        if not isinstance(version, str) or not version:
            continue  # an extraneous or broken entry npm itself would reinstall
        name, version = _identity(path, install_path, entry, version)
        dev_optional = flag(entry.get("devOptional")) is True
        graph.add_package(
            install_path,
            name,
            version,
            dev=flag(entry.get("dev")) is True,
            optional=flag(entry.get("optional")) is True or dev_optional,
            hints=_hints(entry),
        )
        for section, optional in _PACKAGE_SECTIONS.items():
            for dep in mapping(path, entry.get(section), install_path, section):
                target = _resolve(packages, install_path, dep)
                if target is not None:
                    graph.add_edge(install_path, target, optional=optional)
    for importer in importers:
        entry = mapping(path, packages.get(importer), "packages", importer)
        for section, (dev, optional) in _IMPORTER_SECTIONS.items():
            for dep in mapping(path, entry.get(section), "packages", importer, section):
                target = _resolve(packages, importer, dep)
                if target is not None:
                    graph.add_direct(target, dev=dev, optional=optional, importer=importer or ".")
    return graph


def _identity(path: str, install_path: str, entry: Table, version: str) -> tuple[str, str]:
    """(real name, version): an alias (`"x": "npm:y@1"`) installs y under x's path, and says so in `name`."""
    name = entry.get("name")
    if version.startswith("npm:"):  # lockfile v1's spelling of an alias
        alias = version[4:]
        at = alias.rfind("@")
        if at > 0:
            return alias[:at], alias[at + 1 :]
    if isinstance(name, str) and name:
        return name, version
    return string(path, install_path.rpartition(_MODULES)[2], "the name in", install_path), version


def _hints(entry: Table) -> Table:
    hints: Table = {}
    if isinstance(entry.get("resolved"), str):
        hints["resolved"] = entry["resolved"]
    if flag(entry.get("inBundle")) or flag(entry.get("bundled")):
        hints["bundled"] = True
    if flag(entry.get("devOptional")):
        hints["devOptional"] = True
    return hints


def _resolve(packages: Table, from_path: str, name: object) -> str | None:
    """Node's lookup: `<from>/node_modules/<name>`, then the same under each enclosing package, then the root."""
    if not isinstance(name, str) or not name:
        return None
    base = from_path
    while True:
        candidate = f"{base}/{_MODULES}{name}" if base else f"{_MODULES}{name}"
        if candidate in packages:
            return candidate
        if not base:
            return None
        cut = base.rfind(f"/{_MODULES}")
        base = base[:cut] if cut >= 0 else ""


# --- lockfile v1 -----------------------------------------------------------------------------------


def _flatten_v1(path: str, dependencies: Table) -> Table:
    """v1's nested `dependencies` as v2's flat `packages` (`requires` read as `dependencies`), without recursion."""
    flat: Table = {}
    stack: list[tuple[str, Table]] = [("", dependencies)]
    while stack:
        prefix, deps = stack.pop()
        for name, raw in deps.items():
            install_path = f"{prefix}/{_MODULES}{name}" if prefix else f"{_MODULES}{name}"
            if install_path.count(_MODULES) > _MAX_NESTING:
                raise ManifestError(f"{path}: dependencies nest deeper than {_MAX_NESTING} levels")
            entry = mapping(path, raw, "dependencies", name)
            requires = mapping(path, entry.get("requires"), install_path, "requires")
            flat[install_path] = {**entry, "dependencies": requires, "name": None}
            stack.append((install_path, mapping(path, entry.get("dependencies"), install_path, "dependencies")))
    return flat


def _v1_root(path: str, packages: Table, read: ReadFile) -> Table:
    """The root importer of a v1 lock: package.json's sections, else the top-level packages none requires."""
    declared = sibling_json(path, "package.json", read)
    root = {section: declared[section] for section in _IMPORTER_SECTIONS if isinstance(declared.get(section), dict)}
    if root:
        return root
    required = set(_required_names(packages))
    top = [key[len(_MODULES) :] for key in packages if key.count(_MODULES) == 1]
    orphans = [name for name in top if name not in required]
    dev = {name for name in orphans if flag(packages[_MODULES + name].get("dev"))}
    return {
        "dependencies": {name: "*" for name in orphans if name not in dev},
        "devDependencies": {name: "*" for name in dev},
    }


def _required_names(packages: Table) -> Iterator[str]:
    for entry in packages.values():
        yield from entry.get("dependencies", {})
