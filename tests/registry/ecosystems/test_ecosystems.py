"""The ecosystem records, and properties every parser must have on the whole corpus."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path
from types import ModuleType

import pytest

from registry.ecosystems import (
    ECOSYSTEMS,
    LANGUAGES,
    Ecosystem,
    ecosystem_named,
    ecosystems_for,
    go,
    java,
    lock_ecosystems_for,
    npm,
    php,
    python,
    ruby,
    rust,
)
from registry.ecosystems.base import ManifestError
from tests.registry.ecosystems.support import CORPUS, SHARED_CORPUS, corpus_reader

CORPUS_FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "SOURCES.md")


def _split(file: Path) -> tuple[str, str, str]:
    ecosystem, repo, *rest = file.relative_to(CORPUS).parts
    return ecosystem, repo, "/".join(rest)


def go_ecosystem() -> Ecosystem | None:
    return ecosystem_named("go")


def test_seven_languages_in_a_fixed_order() -> None:
    assert LANGUAGES == ("npm", "python", "go", "rust", "php", "ruby", "java")
    assert tuple(module.LANGUAGE for module in (npm, python, go, rust, php, ruby, java)) == LANGUAGES
    assert [ecosystem_named(language) for language in LANGUAGES] == list(ECOSYSTEMS)
    assert ecosystem_named("cobol") is None


@pytest.mark.parametrize("ecosystem", ECOSYSTEMS, ids=lambda e: e.language)
def test_each_ecosystem_claims_its_manifests_and_never_its_lockfiles(ecosystem: Ecosystem) -> None:
    """Its lockfiles go to its lockfile parser; only go.mod is both (it is Go's build list)."""
    named = [name.replace("*", "x") for name in ecosystem.manifests]
    assert [e.language for name in named for e in ecosystems_for(name if "/" in name else f"a/{name}")] == [
        ecosystem.language
    ] * len(named)
    locks = [name.replace("*", "x") for name in ecosystem.lockfiles]
    assert [e.language for name in locks for e in lock_ecosystems_for(name)] == [ecosystem.language] * len(locks)
    assert [name for name in locks if ecosystems_for(name)] == (["go.mod"] if ecosystem is go_ecosystem() else [])


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("package.json", [npm]),
        ("a/b/pyproject.toml", [python]),
        ("requirements/dev.txt", [python]),
        ("go.mod", [go]),
        ("crates/x/Cargo.toml", [rust]),
        ("composer.json", [php]),
        ("Gemfile", [ruby]),
        ("module/pom.xml", [java]),
        ("README.md", []),
        ("src/main.rs", []),
        ("package-lock.json", []),
    ],
)
def test_ecosystems_for_picks_the_parser_that_reads_a_file(path: str, expected: list[object]) -> None:
    assert [ecosystem.parse for ecosystem in ecosystems_for(path)] == [module.parse for module in expected]


@pytest.mark.parametrize("file", CORPUS_FILES, ids=lambda f: "/".join(f.relative_to(CORPUS).parts))
def test_every_corpus_manifest_is_claimed_by_one_parser_of_its_ecosystem(file: Path) -> None:
    ecosystem, _, path = _split(file)
    assert [found.language for found in ecosystems_for(path)] == [ecosystem]


@pytest.mark.parametrize("file", CORPUS_FILES, ids=lambda f: "/".join(f.relative_to(CORPUS).parts))
def test_corpus_results_are_storable_rows(file: Path) -> None:
    """Hints are JSON, never shadow the manifest path, and every row names the file it came from."""
    ecosystem, repo, path = _split(file)
    [found] = ecosystems_for(path)
    result = found.parse(path, file.read_bytes(), corpus_reader(ecosystem, repo))
    assert result.language == ecosystem
    for dependency in result.dependencies:
        assert "path" not in dependency.hints
        assert dependency.hint_data()["path"] == path
        assert dependency.package
        json.dumps(dependency.dep_data())
        json.dumps(dependency.hint_data())
    for package in result.packages:
        assert package.path == path
        json.dumps(package.as_row())


@pytest.mark.skipif(not SHARED_CORPUS.is_dir(), reason="no shared/corpus next to this checkout")
def test_the_fixture_corpus_is_an_exact_copy_of_the_shared_corpus() -> None:
    shared = sorted(p.relative_to(SHARED_CORPUS) for p in SHARED_CORPUS.rglob("*") if p.is_file())
    copied = sorted(p.relative_to(CORPUS) for p in CORPUS.rglob("*") if p.is_file())
    assert shared == copied
    _, mismatch, errors = filecmp.cmpfiles(SHARED_CORPUS, CORPUS, [str(p) for p in shared], shallow=False)
    assert (mismatch, errors) == ([], [])


# Which repository paths each ecosystem takes for one of its manifests.
MANIFEST_PATHS = {
    npm: [
        ("package.json", True),
        ("packages/vite/package.json", True),
        ("node_modules/lodash/package.json", False),
        ("package-lock.json", False),
        ("src/package.json.bak", False),
        ("tsconfig.json", False),
    ],
    python: [
        ("pyproject.toml", True),
        ("sub/pkg/setup.cfg", True),
        ("Pipfile", True),
        ("requirements.txt", True),
        ("requirements-dev.txt", True),
        ("docs/requirements_docs.txt", True),
        ("dev-requirements.in", True),
        ("requirements/extras/yaml.txt", True),
        ("a/requirements/b/c/test.txt", True),
        ("Pipfile.lock", False),
        ("setup.py", False),
        ("README.txt", False),
        ("requirements/notes.md", False),
    ],
    go: [
        ("go.mod", True),
        ("tools/go.mod", True),
        ("go.sum", False),
        ("go.work", False),
        ("go.mod.orig", False),
    ],
    rust: [
        ("Cargo.toml", True),
        ("crates/x/Cargo.toml", True),
        ("Cargo.lock", False),
        ("cargo.toml", False),
    ],
    php: [
        ("composer.json", True),
        ("packages/x/composer.json", True),
        ("vendor/a/b/composer.json", False),
        ("composer.lock", False),
    ],
    ruby: [
        ("Gemfile", True),
        ("sub/Gemfile", True),
        ("gems.rb", True),
        ("gemfiles/rails_7.gemfile", True),
        ("Gemfile.lock", False),
        ("foo.gemspec", False),
    ],
    java: [
        ("pom.xml", True),
        ("gson/pom.xml", True),
        ("build.gradle", False),
        ("pom.xml.bak", False),
    ],
}


@pytest.mark.parametrize(
    ("ecosystem", "path", "expected"),
    [(module, path, expected) for module, paths in MANIFEST_PATHS.items() for path, expected in paths],
    ids=lambda value: value.LANGUAGE if isinstance(value, ModuleType) else None,
)
def test_each_ecosystem_matches_its_manifests_and_nothing_else(
    ecosystem: ModuleType, path: str, expected: bool
) -> None:
    assert ecosystem.matches(path) is expected


@pytest.mark.parametrize(
    ("ecosystem", "path", "data"),
    [(go, "go.mod", b"module \xff\n"), (ruby, "Gemfile", b'gem "\xff"\n')],
    ids=["go", "ruby"],
)
def test_a_manifest_that_is_not_utf8_raises_manifest_error(ecosystem: ModuleType, path: str, data: bytes) -> None:
    with pytest.raises(ManifestError, match="UTF-8"):
        ecosystem.parse(path, data, lambda _: None)
