"""Every accounts route x every kind of actor -> the expected status, from one table.

The world: alice (the subject), carol (alice's fellow member of org acme), bob (a stranger),
root (a site admin), dave (sole member of org beta, which has invited alice). The actors are
alice's own credentials of each kind, the others' user:all tokens, and root's sudo as alice.
A refused request (4xx) must leave every account table as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.support.factories import auth, make_org, make_token, make_user, row_counts

Client = TestClient[web.Request, web.Application]
TABLES = ("users", "names", "user_emails", "orgs", "org_members", "org_invitations", "access_tokens")
ACTORS = ("anonymous", "other_user", "self", "org_member", "site_admin", "publish_token", "deleted_token", "sudo")


@dataclass(frozen=True)
class World:
    headers: dict[str, dict[str, str]]
    spare_token_id: int
    invitation_id: int


@dataclass(frozen=True)
class Call:
    method: str
    template: str  # the route as registered
    body: dict[str, Any] | None = None
    values: dict[str, str] = field(default_factory=dict)  # path values other than the world's ids

    def path(self, world: World) -> str:
        defaults = {"username": "alice", "name": "acme", "email": "alice@example.com", "id": str(self._id(world))}
        return self.template.format(**{**defaults, **self.values})

    def _id(self, world: World) -> int:
        return world.spare_token_id if self.template.startswith("/api/tokens") else world.invitation_id


ROUTES: dict[str, Call] = {
    "sign up": Call("POST", "/api/users", {"username": "erin", "email": "erin@example.com", "password": "long enough"}),
    "me": Call("GET", "/api/user"),
    "get user": Call("GET", "/api/users/{username}"),
    "update user": Call("PATCH", "/api/users/{username}", {"display_name": "A."}),
    "delete user": Call("DELETE", "/api/users/{username}"),
    "list emails": Call("GET", "/api/users/{username}/emails"),
    "add email": Call("POST", "/api/users/{username}/emails", {"email": "alice2@example.com"}),
    "verify email": Call("POST", "/api/users/{username}/emails/verify", {"email": "alice@example.com", "code": "code"}),
    "delete email": Call("DELETE", "/api/users/{username}/emails/{email}"),
    "create token": Call("POST", "/api/tokens", {"note": "n", "scopes": ["user:all"]}),
    "list tokens": Call("GET", "/api/tokens"),
    "delete token": Call("DELETE", "/api/tokens/{id}"),
    "create org": Call("POST", "/api/orgs", {"name": "gamma"}),
    "get org": Call("GET", "/api/orgs/{name}"),
    "update org": Call("PATCH", "/api/orgs/{name}", {"display_name": "Acme"}),
    "delete org": Call("DELETE", "/api/orgs/{name}"),
    "list members": Call("GET", "/api/orgs/{name}/members"),
    "remove member": Call("DELETE", "/api/orgs/{name}/members/{username}", values={"username": "carol"}),
    "invite": Call("POST", "/api/orgs/{name}/invitations", {"username": "dave"}),
    "org invitations": Call("GET", "/api/orgs/{name}/invitations"),
    "my invitations": Call("GET", "/api/user/invitations"),
    "respond": Call("POST", "/api/invitations/{id}/respond", {"accept": True}),
    "revoke": Call("DELETE", "/api/invitations/{id}"),
}

# fmt: off
#                    anonymous other  self  member admin publish deleted sudo
EXPECTED: dict[str, tuple[int, ...]] = {
    "sign up":        (201,      201,   201,  201,   201,  201,    401,    201),
    "me":             (401,      200,   200,  200,   200,  200,    401,    200),
    "get user":       (200,      200,   200,  200,   200,  200,    401,    200),
    "update user":    (401,      403,   200,  403,   200,  403,    401,    200),
    "delete user":    (401,      403,   204,  403,   204,  403,    401,    204),
    "list emails":    (401,      403,   200,  403,   200,  403,    401,    200),
    "add email":      (401,      403,   201,  403,   201,  403,    401,    201),
    "verify email":   (401,      403,   200,  403,   200,  403,    401,    200),
    "delete email":   (401,      403,   204,  403,   204,  403,    401,    204),
    "create token":   (401,      201,   201,  201,   201,  403,    401,    201),
    "list tokens":    (401,      200,   200,  200,   200,  403,    401,    200),
    "delete token":   (401,      404,   204,  404,   204,  403,    401,    204),
    "create org":     (401,      201,   201,  201,   201,  403,    401,    201),
    "get org":        (200,      200,   200,  200,   200,  200,    401,    200),
    "update org":     (401,      403,   200,  200,   200,  403,    401,    200),
    "delete org":     (401,      403,   204,  204,   204,  403,    401,    204),
    "list members":   (401,      403,   200,  200,   200,  403,    401,    200),
    "remove member":  (401,      403,   204,  204,   204,  403,    401,    204),
    "invite":         (401,      403,   201,  201,   201,  403,    401,    201),
    "org invitations": (401,     403,   200,  200,   200,  403,    401,    200),
    "my invitations": (401,      200,   200,  200,   200,  403,    401,    200),
    "respond":        (401,      404,   200,  404,   404,  403,    401,    200),
    "revoke":         (401,      404,   403,  404,   204,  403,    401,    403),
}
# fmt: on

CASES = [(route, actor, EXPECTED[route][column]) for route in ROUTES for column, actor in enumerate(ACTORS)]


def test_the_matrix_covers_every_accounts_route() -> None:
    from registry.handlers import invitations, orgs, tokens, users

    accounts = {
        (route.method, route.path)
        for module in (users, tokens, orgs, invitations)
        for route in module.routes
        if isinstance(route, web.RouteDef)
    }
    assert accounts == {(call.method, call.template) for call in ROUTES.values()}


async def _world(db: asyncpg.Connection) -> World:
    alice = await make_user(db, "alice", email="alice@example.com")
    bob = await make_user(db, "bob")
    carol = await make_user(db, "carol")
    root = await make_user(db, "root", site_admin=True)
    dave = await make_user(db, "dave")
    await make_org(db, "acme", [alice, carol])
    beta = await make_org(db, "beta", [dave])
    invitation_id = await db.fetchval(
        "INSERT INTO org_invitations (org_id, sender_user_id, recipient_user_id) VALUES ($1, $2, $3) RETURNING id",
        beta,
        dave.id,
        alice.id,
    )
    await make_token(db, alice.id)
    spare_token_id = await db.fetchval("SELECT max(id) FROM access_tokens")
    deleted = await make_token(db, alice.id)
    await db.execute("UPDATE access_tokens SET deleted_at = now() WHERE id = (SELECT max(id) FROM access_tokens)")
    publish = await make_token(db, alice.id, ["registry:publish"])
    sudo = await make_token(db, root.id, ["site-admin:sudo"])
    headers = {
        "anonymous": {},
        "other_user": bob.headers,
        "self": alice.headers,
        "org_member": carol.headers,
        "site_admin": root.headers,
        "publish_token": auth(publish),
        "deleted_token": auth(deleted),
        "sudo": {"Authorization": f'token-sudo user="alice",token="{sudo}"'},
    }
    return World(headers, spare_token_id, invitation_id)


@pytest.mark.parametrize(("route", "actor", "expected"), CASES, ids=[f"{r}-{a}" for r, a, _ in CASES])
async def test_authorization(client: Client, db: asyncpg.Connection, route: str, actor: str, expected: int) -> None:
    world = await _world(db)
    call = ROUTES[route]
    before = await row_counts(db, TABLES)
    response = await client.request(call.method, call.path(world), json=call.body, headers=world.headers[actor])
    assert response.status == expected, await response.text()
    if expected >= 400:
        assert response.headers["Content-Type"] == "application/problem+json"
        assert await row_counts(db, TABLES) == before, "a refused request changes nothing"
