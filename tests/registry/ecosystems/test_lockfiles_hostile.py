"""Lockfile parsers on hostile input: a ManifestError naming the file, or rows — never another exception,
never recursion, and linear time on huge locks."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from registry.ecosystems import ECOSYSTEMS, lock_ecosystems_for
from registry.ecosystems.base import LockParseResult, ManifestError
from testkit.locks import YARN_CHAIN_ROOT, chain_lock, yarn_chain_lock
from tests.registry.ecosystems.support import LOCKS, parse_lock_text

LOCK_NAMES = [
    ("npm", "package-lock.json"),
    ("npm", "npm-shrinkwrap.json"),
    ("npm", "yarn.lock"),
    ("npm", "pnpm-lock.yaml"),
    ("python", "poetry.lock"),
    ("python", "uv.lock"),
    ("python", "Pipfile.lock"),
    ("go", "go.mod"),
    ("rust", "Cargo.lock"),
    ("php", "composer.lock"),
    ("ruby", "Gemfile.lock"),
    ("java", "gradle.lockfile"),
]
WRONG = [None, 0, 1.5, True, "x", "", [], [1, "a"], {}, {"a": 1}]


def _parse_or_refuse(language: str, path: str, data: bytes) -> LockParseResult | None:
    [ecosystem] = [e for e in ECOSYSTEMS if e.language == language and e.matches_lockfile(path)]
    try:
        return ecosystem.parse_lock(path, data, lambda _: None)
    except ManifestError as exc:
        message = str(exc)
    assert path in message  # a refusal names the file
    return None


def test_each_lockfile_name_has_exactly_one_parser() -> None:
    for language, name in LOCK_NAMES:
        assert [e.language for e in lock_ecosystems_for(f"sub/{name}")] == [language]
    assert lock_ecosystems_for("node_modules/x/package-lock.json") == []
    assert lock_ecosystems_for("vendor/a/b/composer.lock") == []
    assert [e.language for e in lock_ecosystems_for("gradle/dependency-locks/compileClasspath.lockfile")] == ["java"]
    assert [e.language for e in lock_ecosystems_for("gemfiles/rails_7.gemfile.lock")] == ["ruby"]


@pytest.mark.parametrize(("language", "name"), LOCK_NAMES)
@pytest.mark.parametrize("seed", range(4))
def test_random_bytes_are_refused_or_parsed_never_a_crash(language: str, name: str, seed: int) -> None:
    rng = random.Random(seed)
    _parse_or_refuse(language, name, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))))
    printable = "".join(rng.choice("ab@/:=\"'{}[](),# \n  -_.0123456789") for _ in range(2000))
    _parse_or_refuse(language, name, printable.encode())


def _mutations(doc: Any) -> Iterator[Any]:
    """`doc` with one value replaced by a wrong type, for every value of the first few levels."""
    stack: list[tuple[list[Any], Any]] = [([], doc)]
    while stack:
        where, value = stack.pop()
        children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
        for key, child in list(children)[:6]:
            for wrong in WRONG:
                mutated = copy.deepcopy(doc)
                target = mutated
                for step in where:
                    target = target[step]
                target[key] = wrong
                yield mutated
            if len(where) < 4:
                stack.append(([*where, key], child))


JSON_LOCKS = [
    ("npm", "uuidjs__uuid", "package-lock.json"),
    ("npm", "tj__commander.js", "package-lock.json"),
    ("php", "composer__composer", "composer.lock"),
    ("python", "psf__requests-html", "Pipfile.lock"),
]
YAML_LOCKS = [
    ("npm", "unjs__ufo", "pnpm-lock.yaml"),
    ("npm", "antfu__ni", "pnpm-lock.yaml"),
    ("npm", "reduxjs__redux-thunk", "yarn.lock"),
]


def _small(doc: Any) -> Any:
    """The first few entries of each big table: enough to reach every field, cheap to copy many times."""
    if isinstance(doc, dict):
        return {key: _small(value) for key, value in list(doc.items())[:8]}
    if isinstance(doc, list):
        return [_small(value) for value in doc[:8]]
    return doc


@pytest.mark.parametrize(("language", "repo", "name"), JSON_LOCKS + YAML_LOCKS)
def test_wrong_types_in_every_field_are_refused_or_skipped(language: str, repo: str, name: str) -> None:
    raw = (LOCKS / language / repo / name).read_bytes()
    is_json = raw.lstrip().startswith(b"{")
    doc = _small(json.loads(raw) if is_json else yaml.safe_load(raw))
    count = 0
    for mutated in _mutations(doc):
        data = json.dumps(mutated) if is_json else yaml.dump(mutated, Dumper=yaml.CSafeDumper)
        _parse_or_refuse(language, name, data.encode())
        count += 1
    assert count > 100


@pytest.mark.parametrize(
    ("language", "name", "text"),
    [
        ("rust", "Cargo.lock", "package = 1"),
        ("rust", "Cargo.lock", "package = [1]"),
        ("rust", "Cargo.lock", '[[package]]\nname = 1\nversion = "1"'),
        ("rust", "Cargo.lock", '[[package]]\nname = "a"\nversion = "1"\ndependencies = "b"'),
        ("rust", "Cargo.lock", '[[package]]\nname = "a"\nversion = "1"\ndependencies = [1]'),
        ("rust", "Cargo.lock", "metadata = 3"),
        ("python", "poetry.lock", '[[package]]\nname = "a"\nversion = []'),
        ("python", "poetry.lock", '[[package]]\nname = "a"\nversion = "1"\ndependencies = 2'),
        ("python", "uv.lock", '[[package]]\nname = "a"\nversion = "1"\ndependencies = [1]'),
        ("python", "uv.lock", '[[package]]\nname = "a"\nsource = 5'),
        ("python", "uv.lock", '[[package]]\nname = "a"\nversion = "1"\noptional-dependencies = []'),
        ("npm", "pnpm-lock.yaml", "lockfileVersion: x\n"),
        ("npm", "pnpm-lock.yaml", "- a\n- b\n"),
        ("npm", "yarn.lock", "a@1:\n  version\n"),
        ("npm", "yarn.lock", 'a@1:\n  version "1"\n      deep "1"\n'),
        ("npm", "yarn.lock", '"a@1:\n  version "1"\n'),
        ("ruby", "Gemfile.lock", "GEM\n  specs:\n    rack (\n"),
        ("java", "gradle.lockfile", "not a coordinate\n"),
        ("go", "go.mod", "require (\n"),
    ],
)
def test_malformed_locks_are_refused_with_their_path(language: str, name: str, text: str) -> None:
    with pytest.raises(ManifestError, match=name.replace(".", r"\.")):
        parse_lock_text(language, f"sub/{name}", text)


def test_yaml_aliases_are_refused() -> None:
    bomb = "a: &a {x: 1, y: 2}\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\nlockfileVersion: '9.0'\n"
    with pytest.raises(ManifestError, match="aliases"):
        parse_lock_text("npm", "pnpm-lock.yaml", bomb)


def test_deeply_nested_v1_lock_is_refused_not_a_recursion_error() -> None:
    deps: dict[str, Any] = {}
    inner = deps
    for level in range(300):
        child: dict[str, Any] = {}
        inner[f"p{level}"] = {"version": "1.0.0", "dependencies": child}
        inner = child
    with pytest.raises(ManifestError):
        parse_lock_text("npm", "package-lock.json", json.dumps({"lockfileVersion": 1, "dependencies": deps}))


CHAIN = (
    5_000  # five times Python's recursion limit: a recursive walk would fail (bench/bench_lockfiles.py times 100,000)
)


def test_a_chain_deeper_than_the_recursion_limit_is_parsed_without_recursion() -> None:
    result = parse_lock_text("npm", "package-lock.json", chain_lock(CHAIN))
    assert len(result.dependencies) == CHAIN
    rows = {d.package: d for d in result.dependencies}
    last = f"p{CHAIN - 1}"
    assert rows[last].depth == CHAIN and rows[last].parents == (f"p{CHAIN - 2}@1.0.0",)


def test_a_yarn_classic_chain_deeper_than_the_recursion_limit_is_parsed() -> None:
    result = parse_lock_text("npm", "yarn.lock", yarn_chain_lock(CHAIN), {"package.json": YARN_CHAIN_ROOT})
    assert len(result.dependencies) == CHAIN
    assert max(d.depth for d in result.dependencies) == CHAIN
