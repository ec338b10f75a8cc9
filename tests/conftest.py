"""Fixtures shared by every test: a real database, the real app, the real HTTP stack."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry.app import create_app
from registry.config import Config
from registry.db.database import Database
from registry.db.pool import create_pool
from registry.services import Services, build_services
from testkit.databases import DatabaseServer, Resetter


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than the machine has cores. A test waits on PostgreSQL, on a
    server subprocess or on a socket much of its time, so on two cores a third worker fills what
    the other two leave idle (2 workers: 170 s, 3: 153 s). Timing checks hold under that sharing:
    a stall is measured as the server process's own CPU time (tests/support/responsive.py)."""
    return (os.cpu_count() or 1) + 1


@pytest.fixture(scope="session")
def database_server() -> Iterator[DatabaseServer]:
    server = DatabaseServer.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def template_database(database_server: DatabaseServer) -> str:
    return asyncio.run(database_server.template())


@pytest.fixture(scope="session")
def worker_database(
    database_server: DatabaseServer, template_database: str, worker_id: str
) -> Iterator[tuple[str, Resetter]]:
    """This xdist worker's own copy of the template, and what empties it between tests."""
    # the pid keeps concurrent test runs against one server (two checkouts, two people) apart
    name = f"{template_database.replace('_tpl_', '_w_')}_{worker_id}_{os.getpid()}"
    asyncio.run(database_server.copy_of(template_database, name))
    dsn = database_server.dsn(name)
    yield dsn, asyncio.run(Resetter.for_database(dsn))
    asyncio.run(database_server.drop(name))


@pytest.fixture
async def emptied_database(worker_database: tuple[str, Resetter]) -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    """The worker's database emptied for this test (sequences restarted too), and the connection
    that emptied it, kept as the test's own (`db`): one connection set up per test, not two."""
    dsn, resetter = worker_database
    conn = await asyncpg.connect(dsn)
    try:
        await resetter.reset(conn)
        yield dsn, conn
    finally:
        await conn.close()


@pytest.fixture
def db_url(emptied_database: tuple[str, asyncpg.Connection]) -> str:
    """The worker's database, emptied for this test."""
    return emptied_database[0]


@pytest.fixture
async def fresh_db_url(database_server: DatabaseServer, template_database: str) -> AsyncIterator[str]:
    """A migrated database of this test's own, for tests that take locks or race."""
    name = await database_server.copy_of(template_database)
    yield database_server.dsn(name)
    await database_server.drop(name)


@pytest.fixture
async def empty_db_url(database_server: DatabaseServer) -> AsyncIterator[str]:
    """An empty database of this test's own, for migration tests."""
    name = await database_server.empty()
    yield database_server.dsn(name)
    await database_server.drop(name)


@pytest.fixture
def db(emptied_database: tuple[str, asyncpg.Connection]) -> asyncpg.Connection:
    """A direct connection to the test's database, to arrange and to check what the API did."""
    return emptied_database[1]


@pytest.fixture
def config(db_url: str) -> Config:
    return Config(database_url=db_url, access_log=False, pool_min_size=1, pool_max_size=5, bcrypt_cost=4)


@pytest.fixture
async def services(config: Config) -> AsyncIterator[Services]:
    """The services on the test's database, without HTTP: for the rules themselves."""
    pool = await create_pool(config.database_url or "", min_size=1, max_size=5)
    built = build_services(config, Database(pool))
    try:
        yield built
    finally:
        built.parsers.close()
        await built.assets.close()
        await pool.close()


AppFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
def make_client(
    aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
) -> AppFactory:
    """Build the real app for a config (optionally adjusted) and serve it over real HTTP."""

    async def make(
        config: Config, adjust: Callable[[web.Application], None] | None = None
    ) -> TestClient[web.Request, web.Application]:
        app = create_app(config)
        if adjust is not None:
            adjust(app)
        return await aiohttp_client(app)

    return make


ClientWith = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
def client_with(make_client: AppFactory, config: Config) -> ClientWith:
    """The real app on the test's database with some settings changed (`await client_with(max_body_bytes=2048)`),
    and optionally adjusted (`adjust=`), served over real HTTP."""

    async def make(
        *, adjust: Callable[[web.Application], None] | None = None, **overrides: Any
    ) -> TestClient[web.Request, web.Application]:
        return await make_client(config.with_overrides(**overrides), adjust)

    return make


@pytest.fixture
async def client(make_client: AppFactory, config: Config) -> TestClient[web.Request, web.Application]:
    return await make_client(config)
