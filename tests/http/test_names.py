"""A name, once published under, is never someone else's, and what deletion
means for assets: every path by which a name or an extension id could change hands, then
the same version published with other code: always 409."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry.sourcegraph import ACCEPT, MEDIA_TYPE
from tests.support.factories import PASSWORD, UserFixture, auth, make_org, make_token, make_user
from tests.support.registry import publish

Client = TestClient[web.Request, web.Application]
EVIL = "export function activate() { steal() }\n"


def signup(username: str) -> dict[str, Any]:
    return {"username": username, "email": "someone@example.com", "password": PASSWORD}


@dataclass
class World:
    client: Client
    db: asyncpg.Connection
    admin: UserFixture
    owner: UserFixture  # a member of the publisher (the user itself, or a member of the org)
    publisher: str  # "carol" (a user) or "acme" (an org)
    is_org: bool

    async def delete_publisher(self) -> None:
        path = f"/api/orgs/{self.publisher}" if self.is_org else f"/api/users/{self.publisher}"
        assert (await self.client.delete(path, headers=self.owner.headers)).status == 204

    async def new_user(self, username: str) -> UserFixture:
        return await make_user(self.db, username)


@pytest.fixture(params=["user", "org"])
async def world(request: pytest.FixtureRequest, client: Client, db: asyncpg.Connection) -> World:
    """`popular` 1.0.0 (and a yanked 1.0.1) published by a user `carol`, or by an org `acme`."""
    admin = await make_user(db, "root", site_admin=True)
    carol = await make_user(db, "carol")
    publisher = "carol"
    if request.param == "org":
        await make_org(db, "acme", [carol])
        publisher = "acme"
    await publish(client, carol.headers, f"{publisher}/popular", "1.0.0")
    await publish(client, carol.headers, f"{publisher}/popular", "1.0.1")
    yanked = await client.delete(f"/api/extensions/{publisher}/popular/releases/1.0.1", headers=carol.headers)
    assert yanked.status == 204
    return World(client, db, admin, carol, publisher, request.param == "org")


@pytest.mark.parametrize("version", ["1.0.0", "1.0.1", "1.0.0+rebuilt"])
async def test_after_the_publisher_is_deleted_nobody_takes_its_name(world: World, version: str) -> None:
    await world.delete_publisher()
    client, name = world.client, world.publisher
    for attempt in (name, name.upper(), name.capitalize()):
        response = await client.post("/api/users", json=signup(attempt))
        assert response.status == 409, (attempt, await response.text())
    mallory = await world.new_user("mallory")
    assert (await client.post("/api/orgs", json={"name": name}, headers=mallory.headers)).status == 409
    renamed = await client.patch("/api/users/mallory", json={"username": name.upper()}, headers=mallory.headers)
    assert renamed.status == 409
    taken = await publish(client, mallory.headers, f"{name}/popular", version, bundle=EVIL, expect=None)
    assert taken["_status"] == 404, "no publisher of that name exists to publish for"


# Unicode look-alikes of `carol` / `acme`: the names' CHECK allows ASCII letters only, so none is a
# new name; and none may take the retired one either.
LOOK_ALIKES = [
    "c\u0430rol",  # Cyrillic a
    "\uff43arol",  # fullwidth c
    "carol\u0307",  # combining dot
    "\u0441arol",  # Cyrillic es
    "carIol",  # a different ASCII name: allowed (it is not carol)
    "ac\u217fe",  # small roman numeral one thousand
    "\u212aarol",  # Kelvin sign
    "\u0130carol",  # dotted capital I folds to i in some locales
]


@pytest.mark.parametrize("username", LOOK_ALIKES)
async def test_look_alikes_of_a_retired_name_are_never_it(world: World, username: str) -> None:
    await world.delete_publisher()
    response = await world.client.post("/api/users", json=signup(username))
    if response.status == 201:
        created = (await response.json())["username"]
        assert created.lower() == username.lower() and created.isascii(), "only a different ASCII name"
        assert created.lower() != world.publisher
        assert created.lower() not in {"carol", "acme"}
    else:
        assert response.status in (409, 422), await response.text()


@pytest.mark.parametrize("path", ["delete extension", "delete and re-create extension", "rename publisher"])
@pytest.mark.parametrize("version", ["1.0.0", "1.0.1", "1.0.0+rebuilt"])
async def test_a_published_version_is_never_published_again(world: World, path: str, version: str) -> None:
    """By its own publisher, after a yank, a deletion, a re-creation or a rename: 409, even with the
    same content (a yanked version must not come back either)."""
    client, name, headers = world.client, world.publisher, world.owner.headers
    if path.startswith("delete"):
        assert (await client.delete(f"/api/extensions/{name}/popular", headers=headers)).status == 204
    if path == "delete and re-create extension":
        created = await client.post("/api/extensions", json={"publisher": name, "name": "POPULAR"}, headers=headers)
        assert created.status == 201
    if path == "rename publisher":
        name = await _rename(world, "renamed")
        assert (await client.delete(f"/api/extensions/{name}/popular", headers=headers)).status == 204
    for bundle in (EVIL, None):
        fields = {"bundle": bundle} if bundle else {}
        again = await publish(client, headers, f"{name}/popular", version, expect=None, **fields)
        assert again["_status"] == 409, again
        assert "never reused" in again["detail"] or "yanked" in again["detail"]
    assert (await publish(client, headers, f"{name}/popular", "2.0.0"))["version"] == "2.0.0"


async def _rename(world: World, new_name: str) -> str:
    """Rename the publisher (an org by SQL: the API has no org rename, the database rules hold)."""
    if world.is_org:
        await world.db.execute("UPDATE orgs SET name = $1 WHERE name = $2", new_name, world.publisher)
        await world.db.execute("UPDATE names SET name = $1 WHERE name = $2", new_name, world.publisher)
        return new_name
    response = await world.client.patch(
        f"/api/users/{world.publisher}", json={"username": new_name}, headers=world.owner.headers
    )
    assert response.status == 200, await response.text()
    return new_name


async def test_a_rename_keeps_the_old_name_and_redirects_its_extension_ids(world: World) -> None:
    client, old = world.client, world.publisher
    static_url = (await (await client.get(f"/api/extensions/{old}/popular/releases/1.0.0")).json())["bundle"][
        "static_url"
    ]
    new = await _rename(world, "renamed")
    for suffix in ("", "/releases/1.0.0", "/-/bundle.js?version=1.0.0", "/-/bundle.js.map?tag=release", "/releases"):
        response = await client.get(f"/api/extensions/{old}/popular{suffix}", allow_redirects=False)
        assert response.status == 308, suffix
        assert response.headers["Location"] == f"/api/extensions/{new}/popular{suffix}"
        assert (await client.get(f"/api/extensions/{old}/popular{suffix}")).status == 200
    assert (await client.get(static_url)).status == 200, "static bundle URLs keep working"
    page = await client.get(f"/extensions/{old}/popular", allow_redirects=False)
    assert (page.status, page.headers["Location"]) == (308, f"/extensions/{new}/popular")
    publisher_page = await client.get(f"/publishers/{old}", allow_redirects=False)
    assert (publisher_page.status, publisher_page.headers["Location"]) == (308, f"/publishers/{new}")
    sourcegraph = await client.get(
        f"/.api/registry/extensions/extension-id/{old}/popular", headers={"Accept": ACCEPT}, allow_redirects=False
    )
    assert sourcegraph.status == 308
    assert sourcegraph.headers["Location"] == f"/.api/registry/extensions/extension-id/{new}/popular"
    assert sourcegraph.headers["X-Sourcegraph-Media-Type"] == MEDIA_TYPE
    query = {"query": "query($id: String!) { extensionRegistry { extension(extensionID: $id) { extensionID } } }"}
    graphql = await client.post("/.api/graphql", json={**query, "variables": {"id": f"{old}/popular"}})
    assert (await graphql.json())["data"]["extensionRegistry"]["extension"] == {"extensionID": f"{new}/popular"}
    assert (await client.post("/api/users", json=signup(old))).status == 409
    stranger = await world.new_user("mallory")
    assert (await client.post("/api/orgs", json={"name": old}, headers=stranger.headers)).status == 409
    deleted = await client.delete(f"/api/extensions/{old}/popular", headers=world.owner.headers)
    assert deleted.status == 404, "writes are not redirected"
    listed = await (await client.get("/api/retired-names", headers=world.admin.headers)).json()
    assert listed["items"] == [
        {
            "name": old,
            "former_owner_kind": "org" if world.is_org else "user",
            "redirects_to": new,
            "retired_at": listed["items"][0]["retired_at"],
        }
    ]
    assert (await client.delete(f"/api/retired-names/{old}", headers=world.admin.headers)).status == 204
    released = await client.get(f"/api/extensions/{old}/popular", allow_redirects=False)
    assert released.status == 404, "a released name redirects no more"


async def test_the_former_owner_takes_its_old_name_back(client: Client, db: asyncpg.Connection) -> None:
    carol = await make_user(db, "carol")
    await publish(client, carol.headers, "carol/popular", "1.0.0")
    assert (await client.patch("/api/users/carol", json={"username": "carla"}, headers=carol.headers)).status == 200
    assert (await client.patch("/api/users/carla", json={"username": "Carol"}, headers=carol.headers)).status == 200
    assert (await client.get("/api/extensions/carla/popular", allow_redirects=False)).status == 308
    assert (await client.post("/api/users", json=signup("carla"))).status == 409
    again = await publish(client, carol.headers, "Carol/popular", "1.0.0", bundle=EVIL, expect=409)
    assert again["status"] == 409


async def test_a_site_admin_release_frees_the_name_but_never_its_versions(world: World) -> None:
    client, name, admin = world.client, world.publisher, world.admin
    await world.delete_publisher()
    listed = await (await client.get("/api/retired-names", headers=admin.headers)).json()
    assert [item["name"] for item in listed["items"]] == [name]
    assert (await client.delete(f"/api/retired-names/{name}", headers=world.owner.headers)).status in (401, 403)
    assert (await client.delete(f"/api/retired-names/{name.upper()}", headers=admin.headers)).status == 204
    assert (await client.delete(f"/api/retired-names/{name}", headers=admin.headers)).status == 404
    response = await client.post("/api/users", json=signup(name))
    assert response.status == 201, await response.text()
    newcomer = await make_user_token(world, name)
    for version in ("1.0.0", "1.0.1", "1.0.0+rebuilt"):
        for bundle in (EVIL, None):
            fields = {"bundle": bundle} if bundle else {}
            taken = await publish(client, newcomer, f"{name}/popular", version, expect=None, **fields)
            assert taken["_status"] == 409, (version, taken)
    assert (await publish(client, newcomer, f"{name}/popular", "1.1.0"))["_status"] == 201
    # losing the name again retires it again
    assert (await client.delete(f"/api/users/{name}", headers=newcomer)).status == 204
    assert (await client.post("/api/users", json=signup(name))).status == 409


async def make_user_token(world: World, username: str) -> dict[str, str]:
    user_id = await world.db.fetchval("SELECT id FROM users WHERE username = $1 AND deleted_at IS NULL", username)
    return auth(await make_token(world.db, user_id))


async def test_a_publisher_that_never_published_frees_its_name(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    assert (
        await client.post("/api/extensions", json={"publisher": "alice", "name": "wc"}, headers=alice.headers)
    ).status == 201
    assert (await client.delete("/api/users/alice", headers=alice.headers)).status == 204
    assert (await client.post("/api/users", json=signup("alice"))).status == 201


@pytest.mark.parametrize("deleted", ["publisher", "extension"])
async def test_no_asset_route_serves_a_deleted_publishers_or_extensions_bundles(world: World, deleted: str) -> None:
    """Deletion takes every asset off the air at once, by version, by tag and by static id."""
    client, name = world.client, world.publisher
    release = await (await client.get(f"/api/extensions/{name}/popular/releases/1.0.0")).json()
    urls = [
        f"/api/extensions/{name}/popular/-/bundle.js?version=1.0.0",
        f"/api/extensions/{name}/popular/-/bundle.js.map?version=1.0.0",
        f"/api/extensions/{name}/popular/-/bundle.js",
        f"/api/extensions/{name}/popular/-/bundle.js?tag=release",
        release["bundle"]["static_url"],
        release["source_map"]["static_url"],
    ]
    for url in urls:
        assert (await client.get(url)).status == 200, url
    if deleted == "publisher":
        await world.delete_publisher()
    else:
        assert (await client.delete(f"/api/extensions/{name}/popular", headers=world.owner.headers)).status == 204
    for url in urls:
        response = await client.get(url, allow_redirects=False)
        assert response.status == 404, (url, response.status)


@pytest.mark.parametrize("look_alike", ["\u212aate", "KATE", "kAtE"])
async def test_the_database_refuses_a_retired_name_however_it_is_spelt(
    client: Client, db: asyncpg.Connection, look_alike: str
) -> None:
    """Past every validation layer, straight into `names`: the retired name is folded as citext folds
    the namespace itself (the Kelvin sign equals k under a UTF-8 locale), so no spelling gets in."""
    kate = await make_user(db, "kate")
    await publish(client, kate.headers, "kate/popular", "1.0.0")
    assert (await client.delete("/api/users/kate", headers=kate.headers)).status == 204
    other = await db.fetchval("INSERT INTO users (username) VALUES ('other') RETURNING id")
    same_name = await db.fetchval("SELECT $1::citext = 'kate'::citext", look_alike)
    if not same_name:  # this database's locale does not fold it to kate: another name, for every lookup too
        await db.execute("INSERT INTO names (name, user_id) VALUES ($1, $2)", look_alike, other)
        assert await db.fetchval("SELECT count(*) FROM names WHERE name = 'kate'") == 0
        return
    with pytest.raises(asyncpg.UniqueViolationError) as refused:
        await db.execute("INSERT INTO names (name, user_id) VALUES ($1, $2)", look_alike, other)
    assert refused.value.constraint_name == "retired_names_pkey"


async def test_sign_ups_racing_the_deletion_never_take_the_name(client: Client, db: asyncpg.Connection) -> None:
    carol = await make_user(db, "carol")
    await publish(client, carol.headers, "carol/popular", "1.0.0")
    responses = await asyncio.gather(
        client.delete("/api/users/carol", headers=carol.headers),
        *(client.post("/api/users", json=signup("carol" if n % 2 else "Carol")) for n in range(10)),
    )
    assert [r.status for r in responses] == [204] + [409] * 10
    assert await db.fetchval("SELECT count(*) FROM names WHERE name = 'carol'") == 0
    assert await db.fetchval("SELECT count(*) FROM retired_names WHERE name = 'carol'") == 1
