"""Fuzzing every operation of the API from its own OpenAPI document: bounded here, so it
runs with the suite; `WHARF_FUZZ_EXAMPLES=200 pytest tests/fuzz` (or `python -m tests.fuzz.long`) runs it long."""

from __future__ import annotations

import asyncio
import copy
import os
import socket
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from registry import appkeys
from registry.app import create_app
from registry.config import Config
from tests.fuzz.fuzzing import fuzz
from tests.support.factories import make_org, make_user
from tests.support.index import index_repo, scan_of
from tests.support.registry import SOURCE_MAP, bundle_for, manifest

EXAMPLES = int(os.environ.get("WHARF_FUZZ_EXAMPLES", "3"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def server(config: Config) -> AsyncIterator[tuple[str, web.Application]]:
    """The real app on a real port of 127.0.0.1 (the fuzzer's blocking client runs in a thread)."""
    app = create_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", app
    await runner.cleanup()


async def seed(db: asyncpg.Connection, base_url: str) -> str:
    """A site admin (whose user:all token is returned), a second user, an org, a published extension,
    an indexed repository: so some generated requests hit real rows."""
    admin = await make_user(db, "admin", site_admin=True, email="admin@example.com")
    bob = await make_user(db, "bob")
    await make_org(db, "acme", [admin, bob])
    body = {
        "extension_id": "admin/word-count",
        "manifest": manifest(),
        "bundle": bundle_for("1.0.0"),
        "source_map": SOURCE_MAP,
        "version": "1.0.0",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{base_url}/api/publish", json=body, headers=admin.headers) as response,
    ):
        assert response.status == 201, await response.text()
    await index_repo(db, "example.com/app", scan_of([("npm", "lodash", "^4.17.0")], [("npm", "app", "1.0.0")]))
    return admin.token


SHARDS = 8  # every 8th operation a shard, so that pytest-xdist spreads them evenly over its workers


@pytest.mark.parametrize("shard", range(SHARDS))
async def test_every_operation_keeps_its_documented_contract(
    server: tuple[str, web.Application], db: asyncpg.Connection, shard: int
) -> None:
    """Every case is sent twice: with a site admin's user:all token, and without credentials."""
    base_url, app = server
    token = await seed(db, base_url)
    outcome = await asyncio.to_thread(
        fuzz,
        copy.deepcopy(app[appkeys.OPENAPI]),
        base_url,
        token=token,
        max_examples=EXAMPLES,
        shard=(shard, SHARDS),
        log=print,
    )
    assert not outcome.failures, outcome.report()
