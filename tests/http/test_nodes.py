"""Several nodes, one truth: caches kept coherent through LISTEN/NOTIFY, reads routed to replicas
with read-your-writes. "Another node" is a second app on the same database; a "replica" is a DSN
naming another database on the same server (it shares the primary's WAL position, and holds none
of its rows, so which one answered shows) or a port nothing listens on. The real topology
(primary, streaming standby, three processes) is tests/topology/."""

from __future__ import annotations

import socket

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry import appkeys
from registry.config import Config
from tests.conftest import AppFactory
from tests.support.eventually import eventually
from tests.support.factories import make_user
from tests.support.registry import bundle_for, publish

Client = TestClient[web.Request, web.Application]
BY_TAG = "/api/extensions/alice/wc/-/bundle.js"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def node_b(make_client: AppFactory, config: Config) -> Client:
    return await make_client(config)


async def _served(client: Client, path: str) -> tuple[int, str | None]:
    """The status, and the version whose bundle was served."""
    response = await client.get(path, headers={"Accept-Encoding": "identity"})
    text = await response.text()
    versions = [v for v in ("1.0.0", "1.1.0") if bundle_for(v).splitlines()[0] in text]
    return response.status, versions[0] if response.status == 200 and versions else None


async def test_a_publish_on_one_node_moves_the_tag_on_another(
    client: Client, node_b: Client, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    assert await _served(node_b, BY_TAG) == (200, "1.0.0"), "node B caches what it resolved"
    await publish(client, alice.headers, "alice/wc", "1.1.0")

    async def moved() -> bool:
        return await _served(node_b, BY_TAG) == (200, "1.1.0")

    await eventually(moved, "node B serves the new release by tag")


async def test_a_yank_on_one_node_stops_another_serving_it_by_tag_and_by_version(
    client: Client, node_b: Client, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    await publish(client, alice.headers, "alice/wc", "1.1.0")
    assert (await _served(node_b, BY_TAG))[1] == "1.1.0"
    assert (await _served(node_b, BY_TAG + "?version=1.1.0"))[0] == 200
    assert (await client.delete("/api/extensions/alice/wc/releases/1.1.0", headers=alice.headers)).status == 204
    assert (await _served(client, BY_TAG + "?version=1.1.0"))[0] == 404, "the writing node at once"

    async def yanked() -> bool:
        return (
            await _served(node_b, BY_TAG) == (200, "1.0.0")
            and (await _served(node_b, BY_TAG + "?version=1.1.0"))[0] == 404
        )

    await eventually(yanked, "node B stops serving the yanked release")


async def test_deleting_an_extension_or_its_publisher_by_hand_reaches_every_node(
    client: Client, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    published = await publish(client, alice.headers, "alice/wc", "1.0.0")
    static = f"/-/static/extension/{published['id']}-alice-wc.js"
    assert (await _served(client, BY_TAG))[0] == (await _served(client, static))[0] == 200
    await db.execute("UPDATE users SET deleted_at = now() WHERE username = 'alice'")  # a script, not the API

    async def gone() -> bool:
        return (await _served(client, BY_TAG))[0] == (await _served(client, static))[0] == 404

    await eventually(gone, "nothing of a deleted publisher is served")


async def _readyz(client: Client) -> dict[str, object]:
    response = await client.get("/readyz")
    assert response.status == 200
    body: dict[str, object] = await response.json()
    return body


async def test_a_lost_listener_clears_the_caches_and_listens_again(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    await _served(client, BY_TAG)
    cached = client.app[appkeys.SERVICES].served_releases
    assert len(cached) == 1
    killed = await db.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = 'wharf-cache-listener' AND datname = current_database()"
    )
    assert killed == 1

    async def reconnected() -> bool:
        metrics = await (await client.get("/metrics")).text()
        return 'wharf_cache_invalidations_total{kind="reconnect"}' in metrics

    await eventually(reconnected, "the lost listener is noticed")
    await eventually(lambda: _listening(client), "the listener listens again")
    assert len(cached) == 0, "nothing cached before the loss survives it"
    assert (await _served(client, BY_TAG))[0] == 200
    assert "wharf_cache_listener_up 1.0" in await (await client.get("/metrics")).text()


async def _listening(client: Client) -> bool:
    body = await _readyz(client)
    return body["cache_listener"] == "listening" and body["status"] == "ready"


async def test_a_replica_that_does_not_answer_is_skipped_and_reported(
    make_client: AppFactory, config: Config, db: asyncpg.Connection
) -> None:
    port = _closed_port()
    client = await make_client(
        config.with_overrides(database_read_urls=(f"postgresql://wharf:s3cret@127.0.0.1:{port}/wharf",))
    )
    alice = await make_user(db, "alice")
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    for path in ("/api/extensions", "/api/extensions/alice/wc", BY_TAG, "/api/dependents?language=npm&package=x"):
        assert (await client.get(path)).status == 200, path

    async def down() -> bool:
        return (await _readyz(client))["replicas"] == [
            {"name": f"127.0.0.1:{port}/wharf", "state": "down", "lag_seconds": None}
        ]

    await eventually(down, "the replica is reported down")
    assert (await _readyz(client))["status"] == "degraded"
    metrics = await (await client.get("/metrics")).text()
    assert f'wharf_replica_up{{replica="127.0.0.1:{port}/wharf"}} 0.0' in metrics
    assert "s3cret" not in metrics and "s3cret" not in await (await client.get("/readyz")).text()


@pytest.fixture
async def replica_client(fresh_db_url: str, make_client: AppFactory, config: Config) -> Client:
    """Reads go to `fresh_db_url`'s database, which never sees the primary's rows."""
    return await make_client(config.with_overrides(database_read_urls=(fresh_db_url,)))


async def test_reads_go_to_a_replica_that_has_the_clients_last_write(
    replica_client: Client, db: asyncpg.Connection
) -> None:
    client = replica_client
    await eventually(lambda: _listening(client), "the replica is seen streaming")
    alice = await make_user(db, "alice")
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    client.session.cookie_jar.clear()  # forget the write (its cookie would send the read to the primary)
    # a read no cache keeps (the metadata route's cache is filled from where every change is)
    downloads = "/api/extensions/alice/wc/downloads"
    assert (await client.get(downloads, headers={"Wharf-Read-After": "0/0"})).status == 404, (
        "a client that wrote nothing reads from the replica (which has no such row)"
    )
    ahead = {"Wharf-Read-After": "FFFFFFFF/FFFFFFFF"}
    assert (await client.get(downloads, headers=ahead)).status == 200, (
        "no replica has replayed that far: the primary answers"
    )
    for malformed in ("", "x", "1/2/3", "G/0", "0/" + "F" * 9, "\u0661/0"):
        response = await client.get(downloads, headers={"Wharf-Read-After": malformed})
        assert response.status == 404, f"{malformed!r} is ignored"


async def test_a_write_reports_its_position_in_a_header_and_a_cookie(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    response = await client.post("/api/extensions", json={"publisher": "alice", "name": "wc"}, headers=alice.headers)
    assert response.status == 201
    position = response.headers["Wharf-LSN"]
    assert f"wharf_lsn={position}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60" in response.headers.getall("Set-Cookie")
    now = await db.fetchval("SELECT pg_current_wal_lsn() >= $1::text::pg_lsn", position)
    assert now is True
    read = await client.get("/api/extensions/alice/wc")
    assert read.status == 200 and "Wharf-LSN" not in read.headers, "a read reports nothing"
