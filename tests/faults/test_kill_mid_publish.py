"""`kill -9` in the middle of a publishing run loses nothing acknowledged and
leaves nothing half-written.

(A migration failing halfway is tested in tests/cli/test_serve_command.py::
test_serve_refuses_to_start_on_a_dirty_database.)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http.client
import signal
import threading
import time

import asyncpg
import orjson

from testkit.processes import command_env
from tests.faults.logged_server import LoggedServer, arrange_user
from tests.support.registry import SOURCE_MAP, manifest

_THREADS = 4


def _bundle(thread: int, n: int) -> str:
    filler = hashlib.sha256(f"{thread}-{n}".encode()).hexdigest() * 400  # ~25 KB, unique per release
    return f"export const v = '{thread}.{n}'; // {filler}\n//# sourceMappingURL=extension.js.map\n"


def _publisher(port: int, token: str, thread: int, stop: threading.Event, acked: dict[str, str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    n = 0
    while not stop.is_set():
        version = f"1.0.{n}"
        body = {
            "extension_id": f"alice/ext-{thread}",
            "manifest": manifest(),
            "bundle": _bundle(thread, n),
            "source_map": SOURCE_MAP,
            "version": version,
        }
        try:
            conn.request(
                "POST",
                "/api/publish",
                body=orjson.dumps(body),
                headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            return  # the server is gone
        if response.status in (200, 201):
            acked[f"ext-{thread}@{version}"] = orjson.loads(payload)["bundle"]["sha256"]
        n += 1


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


async def _release_rows(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(
            "SELECT e.name, r.release_version, r.bundle, r.bundle_sha256, r.bundle_size, r.bundle_integrity,"
            "       r.source_map, r.source_map_sha256, r.source_map_size, r.content_sha256"
            "  FROM registry_extension_releases r JOIN registry_extensions e ON e.id = r.registry_extension_id"
        )
    finally:
        await conn.close()


def test_sigkill_mid_publish_keeps_every_acknowledged_release_whole(fresh_db_url: str) -> None:
    token = arrange_user(fresh_db_url, "alice").token
    env = command_env(fresh_db_url, WHARF_ACCESS_LOG="false", WHARF_DOWNLOADS_FLUSH_SECONDS="0.2")
    server = LoggedServer([], env).start()
    restarted: LoggedServer | None = None
    try:
        server.wait_for("/readyz", 200)
        stop, acked = threading.Event(), {}
        threads = [
            threading.Thread(target=_publisher, args=(server.port, token, t, stop, acked), daemon=True)
            for t in range(_THREADS)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(acked) < 12 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)  # with publishes in flight on every thread
        server.process.wait(10)
        stop.set()
        for thread in threads:
            thread.join(15)
        assert len(acked) >= 12, server.log()

        restarted = LoggedServer([], env).start()
        restarted.wait_for("/readyz", 200)
        for key, sha256 in acked.items():
            name, version = key.split("@")
            status, bundle = _get(restarted.port, f"/api/extensions/alice/{name}/-/bundle.js?version={version}")
            assert status == 200, (key, bundle[:200])
            assert hashlib.sha256(bundle).hexdigest() == sha256, f"{key}: the served bundle is not the acknowledged one"

        rows = asyncio.run(_release_rows(fresh_db_url))
        released = {f"{row['name']}@{row['release_version']}" for row in rows}
        assert set(acked) <= released
        for row in rows:  # nothing half-written: every stored release is complete and self-consistent
            bundle = row["bundle"].encode()
            assert row["bundle_size"] == len(bundle)
            assert row["bundle_sha256"] == hashlib.sha256(bundle).digest()
            assert row["bundle_integrity"] == "sha384-" + base64.b64encode(hashlib.sha384(bundle).digest()).decode()
            source_map = row["source_map"].encode()
            assert (row["source_map_size"], row["source_map_sha256"]) == (
                len(source_map),
                hashlib.sha256(source_map).digest(),
            )
            assert row["content_sha256"] is not None
        for thread in range(_THREADS):  # the listings agree with the rows, field by field
            status, body = _get(restarted.port, f"/api/extensions/alice/ext-{thread}/releases?limit=1000")
            listed = orjson.loads(body)
            expected = {r["release_version"]: r for r in rows if r["name"] == f"ext-{thread}"}
            if not expected:
                continue
            assert status == 200, listed
            items = listed["items"] if isinstance(listed, dict) else listed
            assert {item["version"] for item in items} == set(expected)
            for item in items:
                row = expected[item["version"]]
                assert item["bundle"]["sha256"] == row["bundle_sha256"].hex()
                assert item["bundle"]["size"] == row["bundle_size"]
    finally:
        server.stop()
        server.remove_log()
        if restarted is not None:
            restarted.stop()
            restarted.remove_log()
