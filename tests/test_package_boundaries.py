"""Which top-level packages may import which: the suite and the benchmarks share only `testkit`, and
the product never imports what only development uses. Imports are read from the source (`ast`), so
an import inside a function or one only run by hand counts as much as one at the top."""

from __future__ import annotations

import ast
from collections.abc import Iterator

import pytest

from testkit.processes import REPO_ROOT

# package -> the top-level packages of this repository it must not import
FORBIDDEN = {
    "tests": {"bench"},
    "bench": {"tests"},
    "testkit": {"tests", "bench"},
    "registry": {"tests", "bench", "testkit"},
    "indexer": {"tests", "bench", "testkit"},
}


def imported_modules(source: str, package: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for each import in a module of `package`, relative ones resolved."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield node.lineno, module


def crossings(package: str) -> list[str]:
    forbidden = FORBIDDEN[package]
    return [
        f"{path.relative_to(REPO_ROOT)}:{line} imports {module}"
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        for line, module in imported_modules(path.read_text(), path.relative_to(REPO_ROOT).parent.parts)
        if module.split(".")[0] in forbidden
    ]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_package_imports_across_its_boundary(package: str) -> None:
    assert crossings(package) == [], f"{package}/ may not import {sorted(FORBIDDEN[package])}"


def test_the_import_reader_sees_every_form_of_import() -> None:
    source = (
        "import bench.bench_registry\n"
        "from bench import stress_concurrency\n"
        "def later():\n"
        "    from ..bench import bench_dependents\n"
        "from . import conftest\n"
    )
    found = sorted(module for _, module in imported_modules(source, ("tests",)))
    assert found == ["bench", "bench", "bench.bench_registry", "tests"]
