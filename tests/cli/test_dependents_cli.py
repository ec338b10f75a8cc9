"""`registry dependents --resolved` against a real server: repositories, versions and the path to each."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from registry.ecosystems.base import ResolvedDependency
from testkit.databases import DatabaseServer
from testkit.processes import Server, command_env, run_cli
from tests.support.index import index_repo, scan_of
from tests.support.serving import module_server


async def _index(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        scan = scan_of([("npm", "express", "^4.18.0")])
        scan.resolved = [
            ("npm", ResolvedDependency("express", "4.18.2", True, 1, (), False, False, "package-lock.json")),
            (
                "npm",
                ResolvedDependency(
                    "qs",
                    "6.11.0",
                    False,
                    2,
                    ("express@4.18.2",),
                    False,
                    False,
                    "package-lock.json",
                    via=("express@4.18.2",),
                ),
            ),
        ]
        await index_repo(conn, "github.com/acme/app", scan, "rev")
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def server(database_server: DatabaseServer, template_database: str) -> Iterator[Server]:
    with module_server(database_server, template_database, _index) as running:
        yield running


def registry(server: Server, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = command_env(None, HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), WHARF_URL=server.url)
    env.pop("WHARF_TOKEN", None)
    result = run_cli("registry", *args, env=env, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_resolved_dependents_print_repository_version_and_path(server: Server, tmp_path: Path) -> None:
    found = registry(server, tmp_path, "dependents", "npm", "qs", "--resolved", "--version", "^6.10")
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "VERSION", "HOW", "LOCKFILE", "PATH"]
    assert lines[1].split() == [
        "github.com/acme/app",
        "6.11.0",
        "depth",
        "2",
        "package-lock.json",
        "express@4.18.2",
        ">",
        "qs@6.11.0",
    ]
    assert lines[-1] == "1 of 1 resolved dependent(s) in 1 repository of npm qs at ^6.10"


def test_json_and_an_empty_answer_exit_0(server: Server, tmp_path: Path) -> None:
    as_json = registry(server, tmp_path, "dependents", "npm", "qs", "--resolved", "--direct", "--json")
    assert as_json.returncode == 0, as_json.stderr
    body = json.loads(as_json.stdout)
    assert (body["resolved"], body["direct"], body["items"]) == (True, True, [])
    none = registry(server, tmp_path, "dependents", "npm", "left-pad", "--resolved")
    assert none.returncode == 0, none.stderr
    assert none.stdout == "No indexed repository runs npm left-pad (resolved by a lockfile).\n"


def test_a_bad_range_is_the_servers_400_and_filters_need_resolved(server: Server, tmp_path: Path) -> None:
    bad = registry(server, tmp_path, "dependents", "npm", "qs", "--resolved", "--version", "^^1..")
    assert bad.returncode == 1 and bad.stderr.startswith("registry: 400 "), bad.stderr
    usage = registry(server, tmp_path, "dependents", "npm", "qs", "--direct")
    assert usage.returncode == 2 and "--resolved" in usage.stderr
