"""Does an OSV advisory affect a version? OSV's range semantics, with each ecosystem's ordering.

OSV (https://ossf.github.io/osv-schema/) describes an affected package by `ranges` and an explicit
`versions` list. A range is a list of events — `introduced`, `fixed`, `last_affected`, `limit` —
read in the order of the versions they name: a version is affected when the last event at or
below it is an `introduced` (`fixed` closes an interval at the fixed version, `last_affected` just
after the version it names), and a range with `limit`s only speaks for versions below one of them.
`introduced: "0"` means "since the first version"; `limit: "*"` means no limit. This is the
schema's own evaluation algorithm, written out below in `_range_affects`.

The ordering is the range's type's: SEMVER ranges are Semantic Versioning 2.0 whatever the
ecosystem (a leading `v` dropped, build metadata not ordering, so Go's `+incompatible` compares as
the release it decorates); ECOSYSTEM ranges use the ecosystem's own ordering, which is the
`order` of its `Ecosystem` record — the same library that reads its declared ranges. GIT ranges
name commits, which cannot be compared with package versions: they are stored and shown but never
evaluated; where a record has only GIT ranges its `versions` list (OSV's enumeration of the tags
those commits cover) is what decides.

A repository without a lockfile only declares a range (`^4.17.0`), so the question becomes "does
the declared range admit an affected version?" — an intersection of two sets of intervals with
different grammars. `declared_match` answers it by testing witnesses rather than intersecting:
the versions the advisory lists, each interval's `introduced` and `last_affected` versions, and
the versions the declared range itself names (its bounds, typically its lowest admitted
version). A match always has a witness — a version the declared range admits and the advisory
affects — so no match is invented; a declared range that admits affected versions only strictly
between versions neither names (`>3.0.0 <3.0.5` against introduced 3.0.1 / fixed 3.0.4, with no
versions listed) is missed. The API marks these rows `"match": "declared"` and shows the witness.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from registry.domain.record import Record
from registry.ecosystems import Ecosystem, ranges

EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
RANGE_TYPES = ("SEMVER", "ECOSYSTEM", "GIT")
# A version as a declared range names it: `4.17.0` in `^4.17.0`, `2.15` in `[2.0,2.15)`, `0.56.0`
# in `v0.56.0`; a pre-release or build suffix included.
_NAMED_VERSION = re.compile(r"\d+(?:\.\d+)*(?:-[0-9A-Za-z][0-9A-Za-z.-]*)?(?:\+[0-9A-Za-z][0-9A-Za-z.-]*)?")
_MAX_NAMED = 16  # witnesses taken from one declared range: far more than any real range names


class OsvEvent(Record):
    kind: str  # one of EVENT_KINDS
    version: str


class OsvRange(Record):
    type: str  # one of RANGE_TYPES
    events: tuple[OsvEvent, ...]
    repo: str | None = None


class AffectedPackage(Record):
    """One `affected[]` entry of an ecosystem Wharf indexes: `package` normalised by the
    ecosystem's rule, `name` and `ecosystem` as OSV wrote them."""

    language: str
    package: str
    ecosystem: str
    name: str
    ranges: tuple[OsvRange, ...]
    versions: tuple[str, ...]

    def fixed_versions(self) -> tuple[str, ...]:
        """Every `fixed` version of the SEMVER and ECOSYSTEM ranges (GIT ones name commits), in the
        order the record gives them (for display)."""
        return tuple(e.version for r in self.ranges if r.type != "GIT" for e in r.events if e.kind == "fixed")

    def ranges_json(self) -> list[dict[str, Any]]:
        """The ranges as OSV writes them (how `advisory_affected.ranges` stores them)."""
        return [
            {"type": r.type, **({"repo": r.repo} if r.repo else {}), "events": [{e.kind: e.version} for e in r.events]}
            for r in self.ranges
        ]


class DeclaredMatch(Record):
    """A declared range against an advisory: `witness` is a version both the range admits and the
    advisory affects (None: none found); `evaluable` is False when the declared range cannot be
    read by its ecosystem's rules, and then nothing is known either way."""

    witness: str | None
    evaluable: bool


def ranges_from_json(data: Iterable[dict[str, Any]]) -> tuple[OsvRange, ...]:
    """Ranges as `AffectedPackage.ranges_json` (and OSV) writes them; the importer has already
    checked their shape."""
    return tuple(
        OsvRange(
            type=str(r["type"]),
            events=tuple(OsvEvent(kind, str(value)) for event in r["events"] for kind, value in event.items()),
            repo=r.get("repo"),
        )
        for r in data
    )


# -- evaluation ----------------------------------------------------------------------------------

_BOTTOM = (0, None)  # introduced "0": below every version
_TOP = (2, None)  # limit "*": above every version


@lru_cache(maxsize=65536)
def _key(order: ranges.VersionOrder, version: str) -> Any | None:
    """A version's sort key by `order`, None when the ordering cannot read it (cached: an
    advisory's events and a package's versions are read again for every dependent)."""
    try:
        return order(version)
    except (ValueError, TypeError):
        return None


def _order_of(ecosystem: Ecosystem, range_type: str) -> ranges.VersionOrder:
    return ranges.semver_order if range_type == "SEMVER" else ecosystem.order


def _event_key(order: ranges.VersionOrder, event: OsvEvent) -> tuple[int, Any] | None:
    if event.kind == "introduced" and event.version == "0":
        return _BOTTOM
    if event.kind == "limit" and event.version == "*":
        return _TOP
    key = _key(order, event.version)
    return None if key is None else (1, key)


def _at_or_above(version: tuple[int, Any], bound: tuple[int, Any]) -> bool:
    if version[0] != bound[0]:
        return version[0] > bound[0]
    return bool(version[1] >= bound[1])


def _range_affects(ecosystem: Ecosystem, osv_range: OsvRange, version: str) -> bool | None:
    """OSV's evaluation of one range; None for a GIT range, or a version or event the range's
    ordering cannot read."""
    if osv_range.type not in ("SEMVER", "ECOSYSTEM"):
        return None
    order = _order_of(ecosystem, osv_range.type)
    at = _key(order, version)
    if at is None:
        return None
    here = (1, at)
    keyed: list[tuple[tuple[int, Any], OsvEvent]] = []
    for event in osv_range.events:
        key = _event_key(order, event)
        if key is None:
            return None
        keyed.append((key, event))
    limits = [key for key, event in keyed if event.kind == "limit"]
    if limits and all(_at_or_above(here, limit) for limit in limits):
        return False
    affected = False
    for key, event in sorted((item for item in keyed if item[1].kind != "limit"), key=_sort_key):
        if event.kind == "introduced" and _at_or_above(here, key):
            affected = True
        elif event.kind != "introduced" and _at_or_above(here, key) and (event.kind == "fixed" or here != key):
            affected = False  # at or past a fix, or past the last affected version
    return affected


def _sort_key(item: tuple[tuple[int, Any], OsvEvent]) -> Any:
    return _Sortable(item[0])


class _Sortable:
    """Event keys sort by rank first (bottom, versions, top), then by version; versions of one
    ordering compare with each other only, so the sentinels carry no version."""

    __slots__ = ("key",)

    def __init__(self, key: tuple[int, Any]) -> None:
        self.key = key

    def __lt__(self, other: _Sortable) -> bool:
        if self.key[0] != other.key[0]:
            return self.key[0] < other.key[0]
        return self.key[0] == 1 and bool(self.key[1] < other.key[1])


def _listed(ecosystem: Ecosystem, affected: AffectedPackage, version: str) -> bool:
    """Is `version` one of the explicitly affected `versions` (as written, or equal by the
    ecosystem's ordering: `v1.2.3` and `1.2.3` for Go, `2.0` and `2.0.0` for PyPI)?"""
    if version in affected.versions:
        return True
    at = _key(ecosystem.order, version)
    if at is None:
        return False
    return any(_key(ecosystem.order, listed) == at for listed in affected.versions)


def affects(ecosystem: Ecosystem, affected: AffectedPackage, version: str) -> bool | None:
    """Is `version` of the package affected? True when it is listed or one range says so; False
    when every range could be evaluated and none does (or, with only GIT ranges or none, when
    the `versions` list does not hold it); None when that cannot be told."""
    if _listed(ecosystem, affected, version):
        return True
    verdicts = [_range_affects(ecosystem, r, version) for r in affected.ranges if r.type != "GIT"]
    if any(verdicts):
        return True
    if None in verdicts:
        return None
    if not verdicts and not affected.versions:
        return None  # only GIT ranges, no versions: nothing to evaluate against a version
    return False


def first_fixed(ecosystem: Ecosystem, affected: AffectedPackage, version: str) -> str | None:
    """The lowest `fixed` version above `version` in the ranges that affect it: the upgrade that
    leaves the interval `version` is in (None: no fix is known, or it is affected by the
    `versions` list alone)."""
    best: tuple[Any, str] | None = None
    for osv_range in affected.ranges:
        if _range_affects(ecosystem, osv_range, version) is not True:
            continue
        order = _order_of(ecosystem, osv_range.type)
        at = _key(order, version)
        for event in osv_range.events:
            key = _key(order, event.version) if event.kind == "fixed" else None
            if key is not None and key > at and (best is None or key < best[0]):
                best = (key, event.version)
    return None if best is None else best[1]


def _witnesses(affected: AffectedPackage, declared_range: str) -> list[str]:
    """The versions tried against a declared range, without repeats, in a stable order."""
    named = _NAMED_VERSION.findall(declared_range)[:_MAX_NAMED]
    events = [e.version for r in affected.ranges for e in r.events if e.kind in ("introduced", "last_affected")]
    return list(dict.fromkeys([*affected.versions, *events, *named]))


def declared_match(ecosystem: Ecosystem, affected: AffectedPackage, declared_range: str) -> DeclaredMatch:
    """Does a declared range admit a version the advisory affects? By witnesses (see the module's
    docstring for which, and what this can miss)."""
    if not ranges.readable(ecosystem.read_range, declared_range):
        return DeclaredMatch(None, False)
    for candidate in _witnesses(affected, declared_range):
        if ecosystem.admits(declared_range, candidate) and affects(ecosystem, affected, candidate):
            return DeclaredMatch(candidate, True)
    return DeclaredMatch(None, True)
