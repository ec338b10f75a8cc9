"""Two nodes are one registry: two apps built by `create_app` on one database (as two
`registry serve` processes on two hosts are) share every failure throttle and per-address limit,
and their download counts add up exactly, one per client per release per window."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry import appkeys
from registry.client_address import parse_networks
from registry.config import Config
from tests.conftest import AppFactory
from tests.support.factories import PASSWORD, auth, basic, make_user
from tests.support.registry import publish

Client = TestClient[web.Request, web.Application]
ALL = {"note": "laptop", "scopes": ["user:all"]}
BUNDLE = "/api/extensions/alice/wc/-/bundle.js?version=1.0.0"


async def _nodes(make_client: AppFactory, db_url: str, **settings: Any) -> tuple[Client, Client]:
    config = Config(
        database_url=db_url, access_log=False, bcrypt_cost=4, trusted_proxies=parse_networks("127.0.0.1"), **settings
    )
    return await make_client(config), await make_client(config)


async def _nodes_serving_a_bundle(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection, **settings: Any
) -> tuple[Client, Client]:
    """Two nodes, and alice's extension published through the first: BUNDLE is hers."""
    first, second = await _nodes(make_client, db_url, **settings)
    alice = await make_user(db, "alice")
    await publish(first, alice.headers, "alice/wc", "1.0.0")
    return first, second


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def _flush(node: Client) -> int:
    counted: int = await node.app[appkeys.DOWNLOADS].flush(node.app[appkeys.POOL])
    return counted


async def test_failed_sign_ins_spread_over_two_nodes_meet_one_limit(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection
) -> None:
    first, second = await _nodes(make_client, db_url, auth_failures_per_user=5, auth_failures_per_address=100)
    await make_user(db, "alice")
    wrong = basic("alice", "wrong guess")
    nodes = itertools.cycle((first, second))
    responses = await asyncio.gather(*(next(nodes).post("/api/tokens", json=ALL, headers=wrong) for _ in range(16)))
    statuses = sorted(response.status for response in responses)
    assert statuses == [401] * 5 + [429] * 11, "a concurrent burst over two nodes gets exactly the limit through"
    for node in (first, second):
        refused = await node.post("/api/tokens", json=ALL, headers=basic("alice", PASSWORD))
        assert refused.status == 429
        assert int(refused.headers["Retry-After"]) > 0


async def test_a_right_password_on_one_node_is_forgiven_on_the_other(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection
) -> None:
    first, second = await _nodes(make_client, db_url, auth_failures_per_user=2, auth_failures_per_address=100)
    await make_user(db, "alice")
    for _ in range(5):
        assert (await first.post("/api/tokens", json=ALL, headers=basic("alice"))).status == 201
    assert (await second.post("/api/tokens", json=ALL, headers=basic("alice", "wrong"))).status == 401
    assert (await first.post("/api/tokens", json=ALL, headers=basic("alice", "wrong"))).status == 401
    assert (await second.post("/api/tokens", json=ALL, headers=basic("alice"))).status == 429


async def test_bad_tokens_spread_over_two_nodes_meet_one_limit_and_a_valid_token_still_works(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection
) -> None:
    first, second = await _nodes(make_client, db_url, auth_failures_per_address=4)
    alice = await make_user(db, "alice")
    statuses = [
        (await node.get("/api/user", headers=auth(f"wharf_guess{n}"))).status
        for n, node in zip(range(6), itertools.cycle((first, second)), strict=False)
    ]
    assert statuses == [401] * 4 + [429] * 2
    for node in (first, second):
        assert (await node.get("/api/user", headers=alice.headers)).status == 200


async def test_sign_ups_from_one_address_over_two_nodes_meet_one_limit(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection
) -> None:
    first, second = await _nodes(make_client, db_url, signups_per_address=3)
    body = {"email": "x@example.com", "password": PASSWORD}
    statuses = [
        (await node.post("/api/users", json={**body, "username": f"user{n}"}, headers=_from("203.0.113.5"))).status
        for n, node in zip(range(5), itertools.cycle((first, second)), strict=False)
    ]
    assert statuses == [201, 201, 201, 429, 429]
    assert await db.fetchval("SELECT count(*) FROM users") == 3


async def test_one_clients_downloads_through_two_nodes_count_once_per_window(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection
) -> None:
    first, second = await _nodes_serving_a_bundle(make_client, db_url, db)
    for node in (first, second, first):
        assert (await node.get(BUNDLE, headers=_from("203.0.113.5"))).status == 200
    assert (await _flush(first), await _flush(second)) == (1, 0)
    assert (await second.get(BUNDLE, headers=_from("203.0.113.5"))).status == 200
    assert await _flush(second) == 0, "still within the window"
    await db.execute("UPDATE download_clients SET counted_at = counted_at - interval '3601 seconds'")
    assert (await second.get(BUNDLE, headers=_from("203.0.113.5"))).status == 200
    assert await _flush(second) == 1, "the window has passed"
    assert await db.fetchval("SELECT downloads FROM registry_extensions") == 2
    assert await db.fetchval("SELECT count(*) FROM download_clients") == 1, "one pair, whichever node counted it"


async def test_distinct_clients_downloads_through_two_nodes_add_up_exactly(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection
) -> None:
    first, second = await _nodes_serving_a_bundle(make_client, db_url, db)
    for n in range(12):
        node = (first, second)[n % 2]
        assert (await node.get(BUNDLE, headers=_from(f"198.51.100.{n}"))).status == 200
    assert sorted(await asyncio.gather(_flush(first), _flush(second))) == [6, 6]
    assert await db.fetchval("SELECT downloads FROM registry_extensions") == 12
    assert await db.fetchval("SELECT sum(count) FROM registry_extension_downloads") == 12


async def test_with_a_window_of_zero_every_download_through_every_node_counts(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection
) -> None:
    first, second = await _nodes_serving_a_bundle(make_client, db_url, db, download_count_window=0)
    for node in (first, second, first):
        assert (await node.get(BUNDLE, headers=_from("203.0.113.5"))).status == 200
    assert (await _flush(first), await _flush(second)) == (2, 1)
    assert await db.fetchval("SELECT count(*) FROM download_clients") == 0, "nothing remembered"


async def test_a_flush_forgets_the_pairs_whose_window_has_passed(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection
) -> None:
    first, second = await _nodes_serving_a_bundle(make_client, db_url, db)
    for n in range(5):
        assert (await first.get(BUNDLE, headers=_from(f"198.51.100.{n}"))).status == 200
    assert await _flush(first) == 5
    await db.execute("UPDATE download_clients SET counted_at = counted_at - interval '3601 seconds'")
    assert (await second.get(BUNDLE, headers=_from("203.0.113.5"))).status == 200
    assert await _flush(second) == 1
    assert await db.fetchval("SELECT array_agg(client) FROM download_clients") == ["203.0.113.5"]
