"""The layering rules of docs/ARCHITECTURE.md, checked on the source so that they stay true.

Each rule is one a reader relies on: a route is followed handler → service → store → SQL file,
each module entered once, and a decision (authorization, an error's status, a query's text)
lives in exactly one place.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = ROOT / "registry" / "handlers"
MAX_HANDLER_LINES = 25
_DRIVER_CALLS = {"fetch", "fetchrow", "fetchval", "execute", "executemany", "prepare", "cursor", "copy_from_query"}
# Infrastructure that talks SQL about the database itself, not the domain: the migration runner,
# the embedded server's bootstrap, the pool's setup, the readiness probe.
_SQL_OUTSIDE_STORES_ALLOWED = {"registry/db/bootstrap.py", "registry/db/pool.py"}


def _python(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _route_modules() -> set[str]:
    return {
        f"registry.handlers.{path.stem}"
        for path in HANDLERS.glob("*.py")
        if "web.RouteTableDef()" in path.read_text(encoding="utf-8")
    }


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_no_route_module_imports_another() -> None:
    routes = _route_modules()
    found = []
    for path in HANDLERS.glob("*.py"):
        this = f"registry.handlers.{path.stem}"
        if this not in routes:
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
                found += [f"{_rel(path)} imports {t}" for t in sorted(targets & routes) if t != this]
    assert not found, "\n".join(found)


def test_only_the_policy_refuses_with_forbidden() -> None:
    found = []
    for path in _python("registry", "indexer"):
        if _rel(path) in ("registry/auth/policy.py", "registry/domain/errors.py", "registry/problems.py"):
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Forbidden":
                found.append(f"{_rel(path)}:{node.lineno}")
    assert not found, "Forbidden raised outside registry/auth/policy.py at " + ", ".join(found)


def _is_route(decorator: ast.expr) -> bool:
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and getattr(decorator.func.value, "id", "") == "routes"
    )


def _handlers() -> Iterator[tuple[Path, ast.AsyncFunctionDef]]:
    for path in HANDLERS.glob("*.py"):
        for node in _tree(path).body:
            if isinstance(node, ast.AsyncFunctionDef) and any(
                isinstance(d, ast.Call)
                and isinstance(d.func, ast.Attribute)
                and getattr(d.func.value, "id", "") == "routes"
                for d in node.decorator_list
            ):
                yield path, node


def _body_lines(node: ast.AsyncFunctionDef) -> int:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]  # the docstring says why; it is not the handler's work
    if not body:
        return 0
    return (body[-1].end_lineno or body[-1].lineno) - body[0].lineno + 1


def test_handlers_only_translate_http() -> None:
    handlers = list(_handlers())
    assert len(handlers) > 50
    long = [
        f"{_rel(p)}:{n.lineno} {n.name} ({_body_lines(n)} lines)"
        for p, n in handlers
        if _body_lines(n) > MAX_HANDLER_LINES
    ]
    assert not long, f"handlers over {MAX_HANDLER_LINES} lines: " + ", ".join(long)


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


@pytest.mark.parametrize("folder", ["registry", "indexer"])
def test_sql_text_lives_in_sql_files(folder: str) -> None:
    """No statement is written, or assembled, in Python: every one is a named query of a store."""
    found = []
    for path in _python(folder):
        if _rel(path) in _SQL_OUTSIDE_STORES_ALLOWED:
            continue
        for node in ast.walk(_tree(path)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _DRIVER_CALLS
                and node.args
                and _is_text(node.args[0])
            ):
                found.append(f"{_rel(path)}:{node.lineno} {node.func.attr}")
    assert not found, "SQL written in Python at " + ", ".join(found)


def test_no_hand_written_source_comments() -> None:
    found = [_rel(p) for p in _python("registry", "indexer") if "-- source:" in p.read_text(encoding="utf-8")]
    assert not found, found
