"""Throttles count each client, by the address only trusted proxies may vouch
for, and fold names exactly as the database lookup does."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

import registry
from registry.client_address import address_key, client_address, parse_networks
from registry.config import Config
from registry.db.migrate import load_migrations, migrate_up
from registry.names import fold_name
from registry.resources import migrations_dir
from testkit.databases import DatabaseServer
from tests.conftest import AppFactory, ClientWith
from tests.support.factories import auth, basic, make_user

Client = TestClient[web.Request, web.Application]
ALL = {"note": "laptop", "scopes": ["user:all"]}
PROXY = parse_networks("10.0.0.0/8, 127.0.0.1")


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


# -- the client's address ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("198.51.100.7", ["203.0.113.5"], "198.51.100.7"),  # an untrusted peer is its own client
        ("10.1.2.3", ["203.0.113.5"], "203.0.113.5"),
        ("10.1.2.3", ["6.6.6.6, 203.0.113.5"], "203.0.113.5"),  # what the client wrote is not believed
        ("10.1.2.3", ["6.6.6.6, 203.0.113.5, 10.9.9.9"], "203.0.113.5"),  # past a chain of our proxies
        ("10.1.2.3", ["6.6.6.6", "203.0.113.5"], "203.0.113.5"),  # several header lines are one list
        ("10.1.2.3", [], "10.1.2.3"),
        ("10.1.2.3", ["not-an-address"], "10.1.2.3"),
        ("10.1.2.3", ["::ffff:203.0.113.5"], "203.0.113.5"),
        ("10.1.2.3", ["10.4.4.4"], "10.4.4.4"),  # only proxies all the way: the farthest one
    ],
)
def test_forwarded_for_is_believed_only_as_far_as_trusted_proxies_wrote_it(
    peer: str, forwarded: list[str], client: str
) -> None:
    assert client_address(peer, forwarded, PROXY) == client


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address("127.0.0.1", ["203.0.113.5"], ()) == "127.0.0.1"


def test_an_ipv6_client_is_its_slash_64() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("203.0.113.5") == "203.0.113.5"
    assert address_key(None) == "unknown"


async def _alice_behind_a_trusted_proxy(client_with: ClientWith, db: asyncpg.Connection, **limits: int) -> Client:
    """The app with these throttle limits, trusting PROXY for the client's address; alice signed up."""
    client = await client_with(trusted_proxies=PROXY, **limits)
    await make_user(db, "alice")
    return client


async def _get_user(client: Client, token: str, address: str) -> int:
    """The status of GET /api/user with `token`, forwarded for `address`."""
    return (await client.get("/api/user", headers={**auth(token), **_from(address)})).status


async def _ask_for_token(client: Client, credentials: dict[str, str], address: str | None = None) -> int:
    """The status of POST /api/tokens with these credentials, forwarded for `address` if one is given."""
    headers = credentials if address is None else {**credentials, **_from(address)}
    return (await client.post("/api/tokens", json=ALL, headers=headers)).status


async def test_throttles_count_each_client_behind_a_trusted_proxy(
    client_with: ClientWith, db: asyncpg.Connection
) -> None:
    client = await _alice_behind_a_trusted_proxy(client_with, db, auth_failures_per_address=3)
    wrong = [await _get_user(client, "wharf_x", "203.0.113.5") for _ in range(4)]
    assert wrong == [401, 401, 401, 429]
    assert await _get_user(client, "wharf_x", "6.6.6.6, 203.0.113.5") == 429, "a prepended address buys nothing"
    assert await _get_user(client, "wharf_x", "203.0.113.6") == 401, "another client behind the proxy"


async def test_forwarded_for_from_an_untrusted_peer_buys_no_fresh_budget(client_with: ClientWith) -> None:
    client = await client_with(auth_failures_per_address=3)
    statuses = [await _get_user(client, "wharf_x", f"203.0.113.{n}") for n in range(4)]
    assert statuses == [401, 401, 401, 429]


async def test_password_failures_count_per_client_behind_a_trusted_proxy(
    client_with: ClientWith, db: asyncpg.Connection
) -> None:
    client = await _alice_behind_a_trusted_proxy(
        client_with, db, auth_failures_per_user=100, auth_failures_per_address=2
    )
    attacker = [await _ask_for_token(client, basic("alice", "guess"), "203.0.113.66") for _ in range(3)]
    assert attacker == [401, 401, 429]
    assert await _ask_for_token(client, basic("alice"), "203.0.113.7") == 201


async def test_a_guesser_at_one_address_does_not_lock_the_owner_out_at_another(
    client_with: ClientWith, db: asyncpg.Connection
) -> None:
    client = await _alice_behind_a_trusted_proxy(client_with, db, auth_failures_per_user=3)
    guesser = [await _ask_for_token(client, basic("alice", "guess"), "203.0.113.66") for _ in range(4)]
    assert guesser == [401, 401, 401, 429]
    assert await _ask_for_token(client, basic("alice"), "203.0.113.66") == 429, "no oracle"
    assert await _ask_for_token(client, basic("alice"), "198.51.100.7") == 201


async def test_guesses_spread_over_many_addresses_meet_a_ceiling_per_username(
    client_with: ClientWith, db: asyncpg.Connection
) -> None:
    client = await _alice_behind_a_trusted_proxy(client_with, db, auth_failures_per_user=1)
    statuses = [await _ask_for_token(client, basic("alice", "x"), f"198.51.100.{n}") for n in range(11)]
    assert statuses == [401] * 10 + [429], "ten addresses' budgets, then the username's ceiling"
    assert await _ask_for_token(client, basic("bob", "x"), "198.51.100.1") == 401


# -- one folding of names ------------------------------------------------------------------------


def test_only_strings_that_can_be_names_fold_and_they_fold_to_ascii_lower_case() -> None:
    assert fold_name("Alice-B") == "alice-b"
    for impossible in ("alİce", "\u212aate", "alice\n", "-alice", "a--b", "", "a" * 256, "ali ce"):
        assert fold_name(impossible) is None, impossible


@pytest.fixture
async def utf8_db_url(database_server: DatabaseServer) -> AsyncIterator[str]:
    """A migrated database whose citext folds Unicode (as a server initialised with a UTF-8 locale
    does): there `'alİce'::citext = 'alice'`; the suite's template database is C, where it is not."""
    name = f"wharf_t_utf8_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(database_server.admin_dsn)
    try:
        try:  # PostgreSQL 17+: the builtin provider; before it, the C library's C.UTF-8
            await admin.execute(
                f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER builtin BUILTIN_LOCALE 'C.UTF-8'"
            )
        except asyncpg.PostgresSyntaxError:
            await admin.execute(
                f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER libc LOCALE 'C.UTF-8'"
            )
    finally:
        await admin.close()
    conn = await asyncpg.connect(database_server.dsn(name))
    try:
        await migrate_up(conn, load_migrations(migrations_dir()))
        assert await conn.fetchval("SELECT 'alİce'::citext = 'alice'::citext")
    finally:
        await conn.close()
    yield database_server.dsn(name)
    await database_server.drop(name)


async def test_a_name_the_database_folds_to_another_users_is_no_user(make_client: AppFactory, utf8_db_url: str) -> None:
    config = Config(database_url=utf8_db_url, access_log=False, bcrypt_cost=4, auth_failures_per_user=2)
    client = await make_client(config)
    db = await asyncpg.connect(utf8_db_url)
    try:
        alice = await make_user(db, "alice")
        await make_user(db, "kate")
    finally:
        await db.close()
    for alias in ("alİce", "ALİCE", "\u212aate"):  # dotted capital I; Kelvin sign
        assert await _ask_for_token(client, basic(alias)) == 401, alias
        assert (await client.get(f"/api/users/{alias}", headers=alice.headers)).status == 404, alias
    # alice's budget is spent through her one folded name, and no alias reaches her with one of its own
    for _ in range(2):
        assert await _ask_for_token(client, basic("ALICE", "wrong")) == 401
    assert await _ask_for_token(client, basic("alice")) == 429
    assert await _ask_for_token(client, basic("alİce")) == 401
    assert (await client.get("/api/user", headers=alice.headers)).status == 200


def test_only_registry_client_address_reads_forwarding_headers_or_the_peer() -> None:
    """Every reader of the client's address goes through one function (`request.remote`, set by its
    middleware): a second reading of X-Forwarded-For could trust what the first does not."""
    root = Path(registry.__file__).parent
    readers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if re.search(r"[\"'](X-Forwarded-For|Forwarded|X-Real-IP)[\"']\s*[,)\]]|peername", path.read_text(), re.I)
    )
    assert readers == ["client_address.py"]
