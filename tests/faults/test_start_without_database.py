"""`registry serve` starts while PostgreSQL is down, answers /healthz 200 and
/readyz 503, and becomes ready by itself (migrating an empty database) once PostgreSQL is up.

The test runs a PostgreSQL of its own (the embedded binaries, its own data directory), never the
shared test server, so that it can stop and start it.
"""

from __future__ import annotations

import asyncio

import orjson

from registry.db.embedded import EmbeddedPostgres
from registry.db.migrate import load_migrations
from registry.resources import migrations_dir
from testkit.databases import create_database
from testkit.processes import command_env, http_get
from tests.faults.logged_server import LoggedServer

NEWEST = load_migrations(migrations_dir())[-1].version


def test_serve_starts_without_its_database_and_becomes_ready_when_it_comes_up(own_postgres: EmbeddedPostgres) -> None:
    """Two workers: both wait, both become ready, and the one migration runs once (its lock)."""
    running = own_postgres.start()
    asyncio.run(create_database(running.dsn(), "wharf_late"))  # empty: serve is to migrate it
    dsn = running.dsn("wharf_late")
    own_postgres.stop()

    server = LoggedServer(["--workers", "2"], command_env(dsn, WHARF_ACCESS_LOG="false", WHARF_DB_TIMEOUT="2"))
    server.start()
    try:
        server.wait_for("/healthz", 200)
        status, body = http_get(server.url + "/readyz")
        assert status == 503, body
        assert orjson.loads(body)["status"] == 503
        assert http_get(server.url + "/api/extensions")[0] == 503
        assert server.process is not None and server.process.poll() is None, server.log()

        own_postgres.start()
        server.wait_for("/readyz", 200, timeout=30)
        ready = orjson.loads(http_get(server.url + "/readyz")[1])
        assert ready["schema_version"] == NEWEST and ready["replicas"] == []
        assert ready["status"] in {"ready", "degraded"}, "degraded only while the cache listener reconnects"
        assert http_get(server.url + "/api/extensions")[0] == 200
        status, body = http_get(server.url + "/api/site")
        assert status == 200 and orjson.loads(body)["site_id"], body
    finally:
        output = server.stop()
    assert server.process is not None and server.process.returncode == 0, output
    assert "Traceback" not in output, output
