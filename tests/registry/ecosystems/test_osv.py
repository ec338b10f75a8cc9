"""OSV range semantics: which versions an advisory affects, by each ecosystem's ordering, and
whether a declared range admits an affected version."""

from __future__ import annotations

import pytest

from registry.ecosystems import Ecosystem, ecosystem_named, osv_ecosystem_named
from registry.ecosystems.osv import AffectedPackage, OsvEvent, OsvRange, affects, declared_match, first_fixed


def _eco(language: str) -> Ecosystem:
    found = ecosystem_named(language)
    assert found is not None
    return found


def _range(kind: str, *events: tuple[str, str], repo: str | None = None) -> OsvRange:
    return OsvRange(kind, tuple(OsvEvent(k, v) for k, v in events), repo)


def _affected(language: str, *ranges: OsvRange, versions: tuple[str, ...] = ()) -> AffectedPackage:
    return AffectedPackage(language, "pkg", "?", "pkg", ranges, versions)


LOG4J = _affected(
    "java",
    _range("ECOSYSTEM", ("introduced", "2.13.0"), ("fixed", "2.15.0")),
    _range("ECOSYSTEM", ("introduced", "2.4"), ("fixed", "2.12.2")),
    _range("ECOSYSTEM", ("introduced", "2.0-beta9"), ("fixed", "2.3.1")),
)


@pytest.mark.parametrize(
    ("version", "affected", "fixed"),
    [
        ("2.14.1", True, "2.15.0"),
        ("2.15.0", False, None),
        ("2.12.1", True, "2.12.2"),
        ("2.12.2", False, None),  # between two intervals
        ("2.0-beta9", True, "2.3.1"),
        ("2.0-beta8", False, None),  # Maven orders beta8 below beta9, both below 2.0
        ("2.0", True, "2.3.1"),
        ("1.2.17", False, None),
    ],
)
def test_maven_intervals_follow_mavens_ordering(version: str, affected: bool, fixed: str | None) -> None:
    assert affects(_eco("java"), LOG4J, version) is affected
    assert first_fixed(_eco("java"), LOG4J, version) == fixed


def test_semver_ranges_order_by_semver_and_ignore_a_leading_v_and_build_metadata() -> None:
    docker = _affected("go", _range("SEMVER", ("introduced", "0"), ("fixed", "20.10.9+incompatible")))
    go = _eco("go")
    assert affects(go, docker, "v20.10.7+incompatible") is True
    assert first_fixed(go, docker, "v20.10.7+incompatible") == "20.10.9+incompatible"
    assert affects(go, docker, "v20.10.9+incompatible") is False
    assert affects(go, docker, "v20.10.10") is False
    assert affects(go, docker, "v1.4.2-0.20200203170920-46ec8731fbce") is True  # a pseudo-version


def test_pypi_orders_by_pep_440_and_lists_explicit_versions() -> None:
    jinja = _affected(
        "python",
        _range("GIT", ("introduced", "0"), ("fixed", "a2a6c930"), repo="https://github.com/pallets/jinja"),
        _range("ECOSYSTEM", ("introduced", "0"), ("fixed", "2.10.1")),
        versions=("2.0rc1", "2.10"),
    )
    python = _eco("python")
    assert affects(python, jinja, "2.10") is True
    assert affects(python, jinja, "2.10.0") is True  # equal to the listed 2.10 by PEP 440
    assert affects(python, jinja, "2.10.1") is False
    assert affects(python, jinja, "2.10.1rc1") is True  # a pre-release of the fix is below it
    assert affects(python, jinja, "3.0") is False


def test_last_affected_includes_its_version_and_limit_bounds_the_range() -> None:
    npm = _eco("npm")
    last = _affected("npm", _range("SEMVER", ("introduced", "1.0.0"), ("last_affected", "1.4.0")))
    assert [affects(npm, last, v) for v in ("0.9.0", "1.0.0", "1.4.0", "1.4.1")] == [False, True, True, False]
    assert first_fixed(npm, last, "1.2.0") is None
    limited = _affected("npm", _range("SEMVER", ("introduced", "0"), ("limit", "2.0.0")))
    assert [affects(npm, limited, v) for v in ("1.9.9", "2.0.0", "3.0.0")] == [True, False, False]
    star = _affected("npm", _range("SEMVER", ("introduced", "1.0.0"), ("limit", "*")))
    assert affects(npm, star, "99.0.0") is True


def test_events_are_sorted_before_they_are_read() -> None:
    """OSV does not require events in order: a reintroduced interval written first still counts."""
    npm = _eco("npm")
    events = (("introduced", "3.0.0"), ("fixed", "1.5.0"), ("introduced", "1.0.0"), ("fixed", "3.2.0"))
    shuffled = _affected("npm", _range("SEMVER", *events))
    assert [affects(npm, shuffled, v) for v in ("1.2.0", "2.0.0", "3.1.0", "3.2.0")] == [True, False, True, False]


def test_what_cannot_be_evaluated_is_none_not_false() -> None:
    npm = _eco("npm")
    git_only = _affected("npm", _range("GIT", ("introduced", "0"), ("fixed", "abc"), repo="https://x"))
    assert affects(npm, git_only, "1.0.0") is None, "GIT ranges name commits, not versions"
    git_with_versions = _affected("npm", git_only.ranges[0], versions=("1.0.0",))
    assert affects(npm, git_with_versions, "1.0.0") is True
    assert affects(npm, git_with_versions, "1.0.1") is False, "the versions list enumerates what GIT ranges cover"
    lodash = _affected("npm", _range("SEMVER", ("introduced", "3.7.0"), ("fixed", "4.17.19")))
    assert affects(npm, lodash, "not-a-version") is None


@pytest.mark.parametrize(
    ("declared", "witness"),
    [
        ("^4.17.0", "4.17.0"),  # its lowest version is affected
        ("~4.16.0", "4.16.0"),
        ("^3.0.0", "3.7.0"),  # admits the introduced version
        ("*", "3.7.0"),
        ("^4.17.19", None),  # only fixed versions
        ("<3.7.0", None),  # only versions before the flaw
        (">=5", None),
    ],
)
def test_a_declared_range_matches_with_an_affected_version_it_admits(declared: str, witness: str | None) -> None:
    lodash = _affected("npm", _range("SEMVER", ("introduced", "3.7.0"), ("fixed", "4.17.19")))
    assert declared_match(_eco("npm"), lodash, declared).witness == witness


def test_a_declared_range_the_ecosystem_cannot_read_is_not_evaluable() -> None:
    lodash = _affected("npm", _range("SEMVER", ("introduced", "3.7.0"), ("fixed", "4.17.19")))
    found = declared_match(_eco("npm"), lodash, "workspace:*")
    assert (found.witness, found.evaluable) == (None, False)


def test_declared_ranges_in_each_ecosystems_grammar() -> None:
    log4j = declared_match(_eco("java"), LOG4J, "[2.0,2.16)")
    assert log4j.witness is not None and affects(_eco("java"), LOG4J, log4j.witness)
    assert declared_match(_eco("java"), LOG4J, "2.17.1").witness is None  # a bare Maven version admits itself
    jinja = _affected("python", _range("ECOSYSTEM", ("introduced", "0"), ("fixed", "2.10.1")), versions=("2.10",))
    assert declared_match(_eco("python"), jinja, ">=2.9,<3").witness in ("2.10", "2.9")
    assert declared_match(_eco("python"), jinja, ">=2.10.1").witness is None
    hyper = _affected("rust", _range("SEMVER", ("introduced", "0.0.0-0"), ("fixed", "0.14.10")))
    assert declared_match(_eco("rust"), hyper, "0.14").witness == "0.14"  # Cargo: `0.14` is `^0.14`
    assert declared_match(_eco("rust"), hyper, "0.14.10").witness is None


def test_osv_names_map_to_wharfs_languages() -> None:
    names = {"npm": "npm", "PyPI": "python", "Go": "go", "crates.io": "rust", "Packagist": "php"}
    names |= {"RubyGems": "ruby", "Maven": "java"}
    assert {name: getattr(osv_ecosystem_named(name), "language", None) for name in names} == names
    assert osv_ecosystem_named("Debian:11") is None
    assert osv_ecosystem_named("pypi") is None, "OSV's names are exact"
