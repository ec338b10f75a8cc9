"""PostgreSQL stopped under load, then started again.

The test runs a PostgreSQL of its own (the embedded binaries, its own data directory) so that it
can stop it: requests that need the database answer 503 with Retry-After, /readyz too, /healthz
stays 200; once PostgreSQL is back the same server process answers 200 again by itself.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter

import orjson

from registry.db.embedded import EmbeddedPostgres
from testkit.processes import command_env
from tests.faults.logged_server import LoggedServer


def _get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _load(port: int, stop: threading.Event, statuses: Counter[int]) -> None:
    while not stop.is_set():
        try:
            statuses[_get(port, "/api/extensions?limit=5")[0]] += 1
        except (OSError, http.client.HTTPException):
            statuses[0] += 1


def _assert_unavailable(status: int, headers: dict[str, str], body: bytes) -> None:
    assert status == 503, body
    assert headers["retry-after"].isdigit()
    assert headers["content-type"].startswith("application/problem+json")
    assert orjson.loads(body)["status"] == 503


def test_postgres_stopped_under_load_gives_503_and_the_server_recovers(own_postgres: EmbeddedPostgres) -> None:
    dsn = own_postgres.start().dsn("postgres")
    server = LoggedServer([], command_env(dsn, WHARF_ACCESS_LOG="false", WHARF_DB_TIMEOUT="2")).start()
    stop, statuses = threading.Event(), Counter[int]()
    load = [threading.Thread(target=_load, args=(server.port, stop, statuses), daemon=True) for _ in range(3)]
    try:
        server.wait_for("/readyz", 200)
        for thread in load:
            thread.start()
        time.sleep(0.3)
        own_postgres.stop()  # pg_ctl stop -m fast, with requests flowing

        _assert_unavailable(*_get(server.port, "/api/extensions"))
        _assert_unavailable(*_get(server.port, "/api/users/nobody"))
        _assert_unavailable(*_get(server.port, "/readyz"))
        assert _get(server.port, "/healthz")[0] == 200
        time.sleep(0.3)
        assert statuses[500] == 0 and statuses[0] == 0, (statuses, server.log())

        own_postgres.start()
        deadline = time.monotonic() + 10
        while _get(server.port, "/api/extensions")[0] != 200:
            assert time.monotonic() < deadline, f"no recovery within 10 s:\n{server.log()}"
            time.sleep(0.1)
        assert _get(server.port, "/readyz")[0] == 200
        stop.set()
        for thread in load:
            thread.join(10)
        assert statuses[500] == 0 and statuses[0] == 0, statuses
        assert statuses[503] > 0 and statuses[200] > 0, statuses
        assert server.process is not None and server.process.poll() is None, "recovered without a restart"
    finally:
        stop.set()
        server.stop()
        server.remove_log()
