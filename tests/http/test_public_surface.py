"""What the server tells strangers: absolute URLs only from WHARF_PUBLIC_URL or a
loopback Host, the indexer's errors only to site admins, no software versions in `Server`."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry.config import Config
from registry.public_url import is_loopback_address
from tests.conftest import AppFactory
from tests.support.factories import make_user
from tests.support.registry import SOURCE_MAP, bundle_for, manifest

Client = TestClient[web.Request, web.Application]


def _release(extension_id: str = "alice/word-count") -> dict[str, object]:
    return {
        "extension_id": extension_id,
        "manifest": manifest(),
        "bundle": bundle_for("1.0.0"),
        "source_map": SOURCE_MAP,
        "version": "1.0.0",
    }


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("localhost", True),
        ("wharf.localhost", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("evil.example", False),
        ("localhost.evil.example", False),
    ],
)
def test_loopback_listening_addresses_are_recognised(address: str, loopback: bool) -> None:
    assert is_loopback_address(address) is loopback


# Host values that are not `uri-host [":" port]` (RFC 9110 section 7.2) naming this machine: each
# was taken before, and ended in a bundle's sourceMappingURL with another origin than its own
FOREIGN_HOSTS = [
    "evil.example",
    "evil.example:8080",
    "localhost.evil.example",
    "10.0.0.1:8080",
    "[::ffff:10.0.0.1]",
    "localhost:80@evil.com",
    "localhost:18181/evil.com",
    "127.0.0.1:18181,evil.com",
    "[::1]:1/evil.com",
    "[::1]/evil.com",
    "127.0.0.1:99999",
    "localhost:0",
    "localhost:",
    "localhost:+80",
    "localhost:80:80",
    "localhost?.evil.com",
    "localhost#.evil.com",
    "localhost\\evil.com",
    "evil.com@localhost",
    "::1",
    "[::1%25lo]:80",
    "[127.0.0.1]",
    "127.000.000.001",
    "local_host.localhost",
    "-x.localhost",
]


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
async def test_without_a_public_url_a_host_that_is_not_a_loopback_authority_is_refused(
    client: Client, db: asyncpg.Connection, host: str
) -> None:
    alice = await make_user(db, "alice")
    response = await client.post("/api/publish", json=_release(), headers={**alice.headers, "Host": host})
    assert response.status == 400, await response.text()
    assert "WHARF_PUBLIC_URL" in (await response.json())["detail"]
    assert await db.fetchval("SELECT count(*) FROM registry_extension_releases") == 0
    listing = await client.get("/.api/registry/extensions", headers={"Host": host})
    assert listing.status == 400, await listing.text()


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("localhost:9999", "http://localhost:9999"),
        ("LOCALHOST:08080", "http://localhost:8080"),
        ("wharf.localhost", "http://wharf.localhost"),
        ("localhost.:65535", "http://localhost.:65535"),
        ("127.0.0.1:1", "http://127.0.0.1:1"),
        ("127.1.2.3", "http://127.1.2.3"),
        ("[::1]:8080", "http://[::1]:8080"),
        ("[0:0:0:0:0:0:0:1]", "http://[::1]"),
    ],
)
async def test_without_a_public_url_a_loopback_host_names_the_source_map(
    client: Client, db: asyncpg.Connection, host: str, origin: str
) -> None:
    alice = await make_user(db, "alice")
    response = await client.post("/api/publish", json=_release(), headers={**alice.headers, "Host": host})
    assert response.status == 201, await response.text()
    bundle = await (await client.get("/api/extensions/alice/word-count/-/bundle.js?version=1.0.0")).text()
    assert f"//# sourceMappingURL={origin}/-/static/extension/" in bundle


async def test_with_a_public_url_the_host_header_is_ignored(
    make_client: AppFactory, config: Config, db: asyncpg.Connection
) -> None:
    client = await make_client(config.with_overrides(public_url="https://wharf.example.com"))
    alice = await make_user(db, "alice")
    response = await client.post("/api/publish", json=_release(), headers={**alice.headers, "Host": "evil.example"})
    assert response.status == 201, await response.text()
    bundle = await (await client.get("/api/extensions/alice/word-count/-/bundle.js?version=1.0.0")).text()
    assert "//# sourceMappingURL=https://wharf.example.com/-/static/extension/" in bundle
    assert "evil.example" not in bundle


async def test_the_indexers_last_error_is_shown_to_site_admins_only(client: Client, db: asyncpg.Connection) -> None:
    admin = await make_user(db, "root", site_admin=True)
    alice = await make_user(db, "alice")
    body = {"uri": "github.com/acme/tool", "source": "https://github.com/acme/tool.git", "revision": "main"}
    assert (await client.post("/api/repos", json=body, headers=admin.headers)).status == 202
    await db.execute("UPDATE repo_index_queue SET last_error = 'cannot read https://github.com/acme/tool.git: denied'")
    for headers in ({}, alice.headers):
        shown = await (await client.get("/api/repos/github.com/acme/tool", headers=headers)).json()
        assert shown["queue"]["last_error"] is None, shown
    shown = await (await client.get("/api/repos/github.com/acme/tool", headers=admin.headers)).json()
    assert shown["queue"]["last_error"] == "cannot read https://github.com/acme/tool.git: denied"


@pytest.mark.parametrize("path", ["/healthz", "/api/extensions", "/no/such/route", "/api/openapi.json", "/"])
async def test_the_server_header_names_no_software_version(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.headers["Server"] == "wharf"
