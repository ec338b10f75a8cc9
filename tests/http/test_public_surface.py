"""What the server tells strangers: absolute URLs only from WHARF_PUBLIC_URL or a
loopback Host, the indexer's errors only to site admins, no software versions in `Server`."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry.config import Config
from registry.public_url import is_loopback_host
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
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST:8080", True),
        ("wharf.localhost:8080", True),
        ("127.0.0.1:8080", True),
        ("127.1.2.3", True),
        ("[::1]:8080", True),
        ("::1", True),
        ("evil.example", False),
        ("evil.example:8080", False),
        ("localhost.evil.example", False),
        ("10.0.0.1:8080", False),
        ("[::ffff:10.0.0.1]", False),
        ("", False),
    ],
)
def test_loopback_hosts_are_recognised(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


async def test_without_a_public_url_a_publish_addressed_to_another_host_is_refused(
    client: Client, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    response = await client.post("/api/publish", json=_release(), headers={**alice.headers, "Host": "evil.example"})
    assert response.status == 400, await response.text()
    assert "WHARF_PUBLIC_URL" in (await response.json())["detail"]
    assert await db.fetchval("SELECT count(*) FROM registry_extension_releases") == 0
    listing = await client.get("/.api/registry/extensions", headers={"Host": "evil.example"})
    assert listing.status == 400


async def test_without_a_public_url_a_loopback_host_names_the_source_map(
    client: Client, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    response = await client.post("/api/publish", json=_release(), headers={**alice.headers, "Host": "localhost:9999"})
    assert response.status == 201, await response.text()
    bundle = await (await client.get("/api/extensions/alice/word-count/-/bundle.js?version=1.0.0")).text()
    assert "//# sourceMappingURL=http://localhost:9999/-/static/extension/" in bundle


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
    body = {"uri": "github.com/acme/tool", "source": "/srv/git/acme/tool.git", "revision": "main"}
    assert (await client.post("/api/repos", json=body, headers=admin.headers)).status == 202
    await db.execute("UPDATE repo_index_queue SET last_error = 'cannot read /srv/git/acme/tool.git: denied'")
    for headers in ({}, alice.headers):
        shown = await (await client.get("/api/repos/github.com/acme/tool", headers=headers)).json()
        assert shown["queue"]["last_error"] is None, shown
    shown = await (await client.get("/api/repos/github.com/acme/tool", headers=admin.headers)).json()
    assert shown["queue"]["last_error"] == "cannot read /srv/git/acme/tool.git: denied"


@pytest.mark.parametrize("path", ["/healthz", "/api/extensions", "/no/such/route", "/api/openapi.json", "/"])
async def test_the_server_header_names_no_software_version(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.headers["Server"] == "wharf"
