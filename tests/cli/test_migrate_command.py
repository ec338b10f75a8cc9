"""`registry migrate …` as an operator runs it."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from registry.db.migrate import load_migrations
from registry.resources import migrations_dir
from testkit.processes import command_env, run_cli

MIGRATIONS = load_migrations(migrations_dir())
NEWEST = MIGRATIONS[-1].version


def test_up_version_down_and_force(empty_db_url: str) -> None:
    env = command_env(empty_db_url)
    assert run_cli("registry", "migrate", "version", env=env).stdout.strip() == "none"

    up = run_cli("registry", "migrate", "up", env=env)
    assert up.returncode == 0, up.stderr
    assert up.stdout.strip() == f"applied {len(MIGRATIONS)} migration(s); version {NEWEST}"

    assert run_cli("registry", "migrate", "version", env=env).stdout.strip() == str(NEWEST)
    down = run_cli("registry", "migrate", "down", env=env)
    assert (down.returncode, down.stdout.strip()) == (0, f"reverted {len(MIGRATIONS)} migration(s); version none")
    one = run_cli("registry", "migrate", "up", "1", env=env)
    assert (one.returncode, one.stdout.strip()) == (0, "applied 1 migration(s); version 1")

    forced = run_cli("registry", "migrate", "force", "-1", env=env)
    assert (forced.returncode, forced.stdout.strip()) == (0, "forced version -1; version none")


def test_two_concurrent_migrators_both_succeed_and_apply_once(empty_db_url: str) -> None:
    env = command_env(empty_db_url)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run_cli("registry", "migrate", "up", env=env), range(2)))
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    outputs = sorted(r.stdout.strip() for r in results)
    assert outputs == [
        f"applied 0 migration(s); version {NEWEST}",
        f"applied {len(MIGRATIONS)} migration(s); version {NEWEST}",
    ]


def test_a_dirty_database_blocks_every_run_with_a_clear_message(empty_db_url: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), directory)
    (directory / "9002_broken.up.sql").write_text("SELECT 1 / 0;")
    env = command_env(empty_db_url, WHARF_MIGRATIONS_DIR=str(directory))

    failed = run_cli("registry", "migrate", "up", env=env)
    assert failed.returncode == 1
    assert "registry: error: migration 9002_broken failed" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert run_cli("registry", "migrate", "version", env=env).stdout.strip() == "9002 (dirty)"

    again = run_cli("registry", "migrate", "up", env=env)
    assert again.returncode == 1
    assert "dirty at version 9002 (dirty)" in again.stderr
    assert "registry migrate force V" in again.stderr

    assert run_cli("registry", "migrate", "force", str(NEWEST), env=env).returncode == 0
    assert run_cli("registry", "migrate", "version", env=env).stdout.strip() == str(NEWEST)


def test_usage_errors_exit_2() -> None:
    result = run_cli("registry", "migrate", "down", "0", env=command_env())
    assert result.returncode == 2
    assert "positive number" in result.stderr


def test_a_malformed_environment_variable_is_named(empty_db_url: str) -> None:
    result = run_cli("registry", "migrate", "version", env=command_env(empty_db_url, WHARF_POOL_MAX_SIZE="many"))
    assert result.returncode == 2
    assert result.stderr.strip() == "registry: configuration error: WHARF_POOL_MAX_SIZE must be an integer, got 'many'"
