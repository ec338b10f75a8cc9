"""`registry serve`: migrating on start, readiness, signals, workers, the embedded database."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import orjson
import pytest

from registry.config import Config
from registry.db.migrate import load_migrations
from registry.resources import migrations_dir
from testkit.processes import Server, command_env, free_port, http_get, run_cli
from tests.conftest import AppFactory
from tests.support.factories import make_user
from tests.support.registry import publish

NEWEST = load_migrations(migrations_dir())[-1].version


@pytest.fixture
def embedded_data_dir() -> Iterator[Path]:
    """A data directory that does not exist yet, under the world-searchable temp dir (so root's
    embedded server, which runs as an unprivileged user, can reach it)."""
    path = Path(tempfile.gettempdir()) / f"wharf-test-{uuid.uuid4().hex[:12]}"
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _postgres_running(data_dir: Path) -> bool:
    return (data_dir / "pgdata" / "postmaster.pid").exists()


def test_serve_migrates_then_becomes_ready_and_stops_on_sigterm(empty_db_url: str) -> None:
    server = Server([], command_env(empty_db_url)).start()
    server.wait_for("/readyz", 200)
    _, body = http_get(server.url + "/readyz")
    ready = {"status": "ready", "schema_version": NEWEST, "replicas": [], "cache_listener": "listening"}
    assert orjson.loads(body) == ready
    output = server.stop(signal.SIGTERM)
    assert server.process is not None and server.process.returncode == 0, output
    assert "applying migration 0001_seed_schema" in output


def test_serve_without_migrating_reports_not_ready(empty_db_url: str) -> None:
    server = Server(["--no-migrate"], command_env(empty_db_url)).start()
    try:
        server.wait_for("/healthz", 200)
        status, body = http_get(server.url + "/readyz")
        assert status == 503
        assert "registry migrate up" in orjson.loads(body)["detail"]
    finally:
        server.stop()


def test_several_workers_share_the_port(fresh_db_url: str) -> None:
    server = Server(["--workers", "2"], command_env(fresh_db_url)).start()
    server.wait_for("/readyz", 200)
    assert all(http_get(server.url + "/healthz")[0] == 200 for _ in range(20))
    output = server.stop(signal.SIGINT)
    assert server.process is not None and server.process.returncode == 0, output


async def test_sigterm_flushes_every_workers_download_counts(make_client: AppFactory, fresh_db_url: str) -> None:
    """Counts wait in memory for an hour here; stopping the server writes them, in each worker."""
    db = await asyncpg.connect(fresh_db_url)
    try:
        alice = await make_user(db, "alice")
        await publish(
            await make_client(Config(database_url=fresh_db_url, access_log=False)), alice.headers, "alice/wc", "1.0.0"
        )
        env = command_env(fresh_db_url, WHARF_DOWNLOADS_FLUSH_SECONDS="3600", WHARF_DOWNLOAD_COUNT_WINDOW="0")
        server = Server(["--workers", "2"], env).start()
        server.wait_for("/readyz", 200)
        bundle = server.url + "/api/extensions/alice/wc/-/bundle.js?version=1.0.0"
        assert [http_get(bundle)[0] for _ in range(10)] == [200] * 10
        assert await db.fetchval("SELECT downloads FROM registry_extensions") == 0, "nothing written yet"
        output = server.stop(signal.SIGTERM)
        assert server.process is not None and server.process.returncode == 0, output
        assert await db.fetchval("SELECT downloads FROM registry_extensions") == 10
    finally:
        await db.close()


def test_a_taken_port_is_a_one_line_error(fresh_db_url: str) -> None:
    first = Server([], command_env(fresh_db_url)).start()
    try:
        first.wait_for("/readyz", 200)
        second = Server([], command_env(fresh_db_url), port=first.port).start()
        assert second.wait_exit() == 1
        assert f"registry: error: cannot listen on 127.0.0.1:{first.port}" in second.output
        assert "Traceback" not in second.output
    finally:
        first.stop()


def test_embedded_database_starts_serves_and_stops_cleanly(embedded_data_dir: Path) -> None:
    env = command_env(None)
    server = Server(["--data-dir", str(embedded_data_dir)], env).start()
    took = server.wait_for("/readyz", 200)
    assert took < 20
    assert _postgres_running(embedded_data_dir)
    output = server.stop(signal.SIGTERM)
    assert server.process is not None and server.process.returncode == 0, output
    assert f"data in {embedded_data_dir.resolve()}/pgdata" in output
    assert "connect with: " in output and " -U postgres wharf" in output
    assert not _postgres_running(embedded_data_dir), "the embedded server is stopped on SIGTERM"


def test_a_second_server_on_the_same_data_dir_joins_the_running_database(embedded_data_dir: Path) -> None:
    env = command_env(None)
    first = Server(["--data-dir", str(embedded_data_dir)], env).start()
    second = Server(["--data-dir", str(embedded_data_dir)], env)
    try:
        first.wait_for("/readyz", 200)
        second.start().wait_for("/readyz", 200)
        first.stop()
        assert first.process is not None and first.process.returncode == 0
        assert _postgres_running(embedded_data_dir), "still held by the second server"
        assert http_get(second.url + "/readyz")[0] == 200
    finally:
        second.stop()
        first.stop()
    assert not _postgres_running(embedded_data_dir), "the last holder stops it"
    # and the data directory is intact: a third start finds the migrated database
    result = run_cli("registry", "migrate", "version", "--data-dir", str(embedded_data_dir), env=env)
    assert (result.returncode, result.stdout.strip()) == (0, str(NEWEST))


@pytest.mark.skipif(
    os.geteuid() != 0, reason="the home-directory rule concerns root, whose server runs as another user"
)
def test_root_never_loosens_a_private_directory(tmp_path: Path) -> None:
    private = Path(tempfile.mkdtemp())  # mode 0700, like a home directory
    try:
        result = run_cli("registry", "migrate", "version", "--data-dir", str(private / "data"), env=command_env(None))
        assert result.returncode == 1
        assert f"{private} is not searchable by other users (mode 0700)" in result.stderr
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
    finally:
        shutil.rmtree(private)


def test_serve_options_fall_back_to_environment_variables(fresh_db_url: str) -> None:
    port = free_port()
    server = Server([], command_env(fresh_db_url, WHARF_PORT=str(port)), port=port, port_flag=False).start()
    try:
        server.wait_for("/healthz", 200)
    finally:
        server.stop()


def test_serve_refuses_to_start_on_a_dirty_database(empty_db_url: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(Path(__file__).resolve().parents[2] / "migrations", directory)
    (directory / "9002_half.up.sql").write_text("CREATE TABLE half (id int); SELECT 1 / 0;")
    env = command_env(empty_db_url, WHARF_MIGRATIONS_DIR=str(directory))
    assert run_cli("registry", "migrate", "up", env=env).returncode == 1

    server = Server([], env).start()
    assert server.wait_exit() == 1
    assert "registry: error: the database is dirty at version 9002 (dirty)" in server.output
    assert "Traceback" not in server.output


@pytest.mark.skipif(os.geteuid() != 0, reason="concerns root, whose server runs as another user")
def test_root_refuses_a_private_data_directory_saying_which_why_and_what_to_do() -> None:
    private = Path(tempfile.mkdtemp())  # the data directory itself is 0700: initdb would be denied
    try:
        server = Server(["--data-dir", str(private)], command_env(None)).start()
        assert server.wait_exit() == 1
        assert f"must reach {private}, but {private} is not searchable by other users (mode 0700" in server.output
        assert f"chmod o+x {private}" in server.output and "DATABASE_URL" in server.output
        assert "initdb" not in server.output and "Traceback" not in server.output
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
    finally:
        shutil.rmtree(private)


@pytest.mark.skipif(os.geteuid() != 0, reason="concerns root, whose server runs as another user")
def test_root_creates_data_directories_its_server_user_can_reach_whatever_the_umask(embedded_data_dir: Path) -> None:
    data_dir = embedded_data_dir / "nested" / "data"
    result = subprocess.run(
        ["sh", "-c", 'umask 077 && exec "$0" -m registry migrate version --data-dir "$1"', sys.executable, data_dir],
        env=command_env(None),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "none"), result.stderr
    assert stat.S_IMODE((embedded_data_dir / "nested").stat().st_mode) == 0o755
