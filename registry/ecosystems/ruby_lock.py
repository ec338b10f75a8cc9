"""Ruby: Bundler's `Gemfile.lock` (also `gems.locked` and Appraisal's `*.gemfile.lock`).

The lock is indentation: in each source section (`GEM`, `GIT`, `PATH`, `PLUGIN SOURCE`) the
`specs:` list gives each gem at four spaces, `name (version[-platform])`, and what it depends on
at six, `name (constraint)`. `DEPENDENCIES` lists what the Gemfile asks for: the direct gems. A
gem locked for several platforms (`nokogiri (1.16.0-x86_64-linux)`, `... -arm64-darwin`) is one
row at its version, with the platforms in hints. Gems under `PATH` are the repository's own
(usually its gemspec, `name!` in DEPENDENCIES): roots, not rows, whose dependencies are direct.

Bundler keeps groups out of the lock; the Gemfile (read by ruby.py's parser, never evaluated)
says which gems are only in `development`/`test` groups: those are dev, with what only they
lead to.
"""

from __future__ import annotations

import posixpath
import re

from registry.ecosystems import ruby
from registry.ecosystems.base import LockParseResult, ManifestError, ReadFile, decode_text
from registry.ecosystems.lockfile import LockGraph, sibling

LANGUAGE = ruby.LANGUAGE
LOCKFILES = ("Gemfile.lock", "gems.locked")

_SOURCES = ("GEM", "GIT", "PATH", "PLUGIN SOURCE")
_SPEC = re.compile(r"^    (\S+) \(([^)\s]+)\)$")
_REQUIREMENT = re.compile(r"^(?:      |  )(\S+?)(!?)(?: \(([^)]*)\))?$")
_SOURCE_FIELD = re.compile(r"^  (remote|revision|branch|tag|ref): (.*)$")
_DEV_GROUPS = frozenset({"development", "test"})


def matches_lockfile(path: str) -> bool:
    name = posixpath.basename(path)
    return name in LOCKFILES or name.endswith(".gemfile.lock")


def parse_lock(path: str, data: bytes, read: ReadFile) -> LockParseResult:
    graph = LockGraph(path)
    edges: dict[str, set[str]] = {}
    own: set[str] = set()  # gems under PATH: the repository's own
    direct: list[str] = []
    section, spec = "", None
    source: dict[str, str] = {}
    for number, line in enumerate(decode_text(path, data).splitlines(), 1):
        if not line.strip():
            continue
        if not line.startswith(" "):
            section, source, spec = line.strip(), {}, None  # a new section, with its own source
        elif section in _SOURCES:
            spec = _source_line(path, number, line, section, source, spec, graph, own, edges)
        elif section == "DEPENDENCIES":
            match = _REQUIREMENT.match(line)
            if match is None or line.startswith("      "):
                raise ManifestError(f"{path}:{number}: cannot read the dependency {line.strip()[:80]!r}")
            direct.append(match[1])
    _link(graph, edges, own, direct, _dev_gems(path, read))
    return LockParseResult(LANGUAGE, graph.resolve())


def _source_line(
    path: str,
    number: int,
    line: str,
    section: str,
    source: dict[str, str],
    spec: str | None,
    graph: LockGraph,
    own: set[str],
    edges: dict[str, set[str]],
) -> str | None:
    """One line inside a source section; returns the gem whose dependencies follow."""
    field = _SOURCE_FIELD.match(line)
    if field is not None:
        source[field[1]] = field[2]
        return None
    if line.strip() == "specs:" and line.startswith("  ") and not line.startswith("   "):
        return None
    found = _SPEC.match(line)
    if found is not None:
        name, version, platform = found[1], *_split_platform(found[2])
        if section == "PATH":
            own.add(name)
        else:
            _add_gem(graph, name, version, platform, section, source)
        edges.setdefault(name, set())
        return name
    requirement = _REQUIREMENT.match(line)
    if requirement is not None and line.startswith("      ") and spec is not None:
        edges[spec].add(requirement[1])
        return spec
    if line.startswith("  ") and ":" in line and not line.startswith("   "):
        return None  # another source field (glob, submodules, ...)
    raise ManifestError(f"{path}:{number}: cannot read {line.strip()[:80]!r} in {section}")


def _split_platform(version: str) -> tuple[str, str | None]:
    """`1.16.0-x86_64-linux` -> (`1.16.0`, `x86_64-linux`): RubyGems versions have no `-`."""
    number, _, platform = version.partition("-")
    return number, platform or None


def _add_gem(
    graph: LockGraph, name: str, version: str, platform: str | None, section: str, source: dict[str, str]
) -> None:
    node = f"{name}@{version}"
    if node not in graph.nodes:
        hints: dict[str, object] = {"source": section.lower(), **source}
        graph.add_package(node, name, version, hints=hints)
    if platform is not None:
        platforms = graph.nodes[node].hints.setdefault("platforms", [])
        if platform not in platforms:
            platforms.append(platform)


def _link(graph: LockGraph, edges: dict[str, set[str]], own: set[str], direct: list[str], dev: set[str]) -> None:
    by_name = {node.package: node_id for node_id, node in graph.nodes.items()}
    for parent, children in edges.items():
        for child in children:
            if child not in by_name:
                continue
            if parent in own:
                graph.add_direct(by_name[child], importer=parent)
            elif parent in by_name:
                graph.add_edge(by_name[parent], by_name[child])
    for name in direct:
        if name in by_name:
            graph.add_direct(by_name[name], dev=name in dev)


def _dev_gems(path: str, read: ReadFile) -> set[str]:
    """Gems every Gemfile declaration of which is in development/test groups only."""
    name = posixpath.basename(path)
    manifest = "gems.rb" if name == "gems.locked" else name.removesuffix(".lock")
    data = read(sibling(path, manifest))
    if data is None:
        return set()
    try:
        declared = ruby.parse(sibling(path, manifest), data, read).dependencies
    except ManifestError:
        return set()
    groups: dict[str, set[str]] = {}
    for dep in declared:
        groups.setdefault(dep.package, set()).update(dep.dep_type.split(","))
    return {gem for gem, names in groups.items() if names <= _DEV_GROUPS}
