"""After a full accounts flow, no table holds a token value or a plain password."""

from __future__ import annotations

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.support.factories import auth, basic

Client = TestClient[web.Request, web.Application]
PASSWORD = "a rather secret passphrase"


async def _every_stored_value(db: asyncpg.Connection) -> list[str]:
    """Every value of every column of every public table, as text (bytea as hex and as raw bytes)."""
    columns = await db.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'"
    )
    values: list[str] = []
    for column in columns:
        table = await db.fetchval("SELECT quote_ident($1)", column["table_name"])
        name = await db.fetchval("SELECT quote_ident($1)", column["column_name"])
        for row in await db.fetch(f"SELECT {name}::text AS v FROM {table} WHERE {name} IS NOT NULL"):
            values.append(row["v"])
        if column["data_type"] == "bytea":
            for row in await db.fetch(f"SELECT {name} AS v FROM {table} WHERE {name} IS NOT NULL"):
                values.append(bytes(row["v"]).decode("latin-1"))
    return values


async def test_no_table_holds_a_token_or_a_password(client: Client, db: asyncpg.Connection) -> None:
    signup = {"username": "alice", "email": "alice@example.com", "password": PASSWORD}
    assert (await client.post("/api/users", json=signup)).status == 201
    created = await (
        await client.post("/api/tokens", json={"note": "n", "scopes": ["user:all"]}, headers=basic("alice", PASSWORD))
    ).json()
    token = created["token"]
    headers = auth(token)
    second = await (
        await client.post("/api/tokens", json={"note": "ci", "scopes": ["registry:publish"]}, headers=headers)
    ).json()
    new_password = "another secret passphrase"
    changed = await client.patch(
        "/api/users/alice", json={"password": new_password, "current_password": PASSWORD}, headers=headers
    )
    assert changed.status == 200
    assert (await client.post("/api/orgs", json={"name": "acme"}, headers=headers)).status == 201
    assert (await client.get("/api/user", headers=auth(second["token"]))).status == 401, "ended by the new password"

    stored = await _every_stored_value(db)
    assert len(stored) > 20
    for secret in (PASSWORD, new_password, token, second["token"], token.removeprefix("wharf_")):
        leaks = [value for value in stored if secret in value]
        assert leaks == [], f"a secret is stored in the clear: {leaks}"
