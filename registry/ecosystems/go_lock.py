"""Go: `go.mod` read as a lockfile, with `go.sum` for checksums.

Since go 1.17 a module's go.mod lists its whole build list (module graph pruning): every module
the build uses, at the version minimal version selection picked, the ones it does not import
itself marked `// indirect`. So the `require` directives (read by go.py's parser) are the
resolved versions, written as Go writes them (`v1.2.3`, pseudo-versions, `+incompatible`).

go.mod records no graph: a direct requirement has depth 1, an indirect one depth 0 (unknown)
and no parents. Before go 1.17 the list may lack transitive modules; those rows say
`{"complete_build_list": false}`. go.sum lists every version the go command ever considered,
not the ones it selected, so it adds no rows — only each selected module's `h1:` hash.
"""

from __future__ import annotations

import posixpath
import re

from registry.ecosystems import go
from registry.ecosystems.base import LockParseResult, ReadFile, ResolvedDependency, decode_text
from registry.ecosystems.lockfile import sibling

LANGUAGE = go.LANGUAGE
LOCKFILES = ("go.mod",)

_GO_DIRECTIVE = re.compile(r"^go\s+(\d+)\.(\d+)", re.MULTILINE)
_PRUNED_SINCE = (1, 17)


def matches_lockfile(path: str) -> bool:
    return posixpath.basename(path) == "go.mod"


def parse_lock(path: str, data: bytes, read: ReadFile) -> LockParseResult:
    parsed = go.parse(path, data, read)
    directive = _GO_DIRECTIVE.search(decode_text(path, data))
    complete = directive is not None and (int(directive[1]), int(directive[2])) >= _PRUNED_SINCE
    sums = _sums(read(sibling(path, "go.sum")))
    rows: dict[tuple[str, str], ResolvedDependency] = {}
    for dep in parsed.dependencies:
        direct = dep.dep_type == "require"
        hints = dict(dep.hints)
        if (dep.package, dep.declared_range) in sums:
            hints["sum"] = sums[(dep.package, dep.declared_range)]
        if not complete:
            hints["complete_build_list"] = False
        row = ResolvedDependency(
            dep.package, dep.declared_range, direct, 1 if direct else 0, (), False, False, path, hints
        )
        rows.setdefault((row.package, row.version), row)
    return LockParseResult(LANGUAGE, [rows[key] for key in sorted(rows)])


def _sums(data: bytes | None) -> dict[tuple[str, str], str]:
    """`module version h1:hash` lines (not the `version/go.mod` ones); an unreadable go.sum gives none."""
    if data is None:
        return {}
    found = {}
    for line in data.decode("utf-8", "replace").splitlines():
        fields = line.split()
        if len(fields) == 3 and not fields[1].endswith("/go.mod"):
            found[(fields[0], fields[1])] = fields[2]
    return found
