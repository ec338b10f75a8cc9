"""One-line email addresses, a password change ends the old tokens,
per-address limits on sign-ups, verification mails and survey answers, bounded download counts."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry import appkeys
from registry.client_address import parse_networks
from registry.config import Config
from registry.mail import LogMailer
from tests.conftest import AppFactory
from tests.support.factories import PASSWORD, UserFixture, auth, make_token, make_user
from tests.support.registry import publish

Client = TestClient[web.Request, web.Application]
PROXY = parse_networks("127.0.0.1")
NEW_PASSWORD = "a brand new passphrase"


def _signup(username: str, email: str | None = None) -> dict[str, Any]:
    return {"username": username, "email": email or f"{username}@example.com", "password": PASSWORD}


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def _limited_client(make_client: AppFactory, db_url: str, **limits: Any) -> Client:
    return await make_client(
        Config(database_url=db_url, access_log=False, bcrypt_cost=4, trusted_proxies=PROXY, **limits)
    )


# -- email addresses are one line ------------------------------------------------------------------

FORGERIES = [
    "eve@example.com\nmail to admin@example.com: code 123456",
    "eve@example.com\r",
    "eve @example.com",
    "e\x1bve@x.y",
]


@pytest.mark.parametrize("email", FORGERIES)
async def test_an_email_address_with_a_newline_or_control_character_is_422(
    client: Client, db: asyncpg.Connection, alice: UserFixture, caplog: pytest.LogCaptureFixture, email: str
) -> None:
    with caplog.at_level(logging.INFO, logger="wharf.mail"):
        signed_up = await client.post("/api/users", json=_signup("eve", email))
        added = await client.post("/api/users/alice/emails", json={"email": email}, headers=alice.headers)
        survey = await client.post("/api/surveys", json={"score": 9, "email": email})
    assert (signed_up.status, added.status, survey.status) == (422, 422, 422)
    assert [(await r.json())["errors"][0]["pointer"] for r in (signed_up, added, survey)] == ["/email"] * 3
    assert await db.fetchval("SELECT count(*) FROM user_emails") == 0
    assert await db.fetchval("SELECT count(*) FROM survey_responses") == 0
    assert "mail to" not in caplog.text


async def test_the_database_refuses_multi_line_addresses_from_any_path(
    db: asyncpg.Connection, alice: UserFixture
) -> None:
    with pytest.raises(asyncpg.CheckViolationError, match="user_emails_email_one_line"):
        await db.execute("INSERT INTO user_emails (user_id, email) VALUES ($1, 'a@b.c\nforged')", alice.id)
    with pytest.raises(asyncpg.CheckViolationError, match="survey_responses_email_one_line"):
        await db.execute("INSERT INTO survey_responses (email, score) VALUES ('a@b.c\nforged', 1)")


async def test_the_mail_log_quotes_what_it_did_not_write(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="wharf.mail"):
        await LogMailer().send("a@b.c\nmail to x@y.z", "subject\nline", "Your code is: 1")
    assert caplog.records[0].getMessage().splitlines()[0] == "mail to 'a@b.c\\nmail to x@y.z': 'subject\\nline'"


# -- a password change ends the old tokens ---------------------------------------------------------


async def test_changing_a_password_deletes_every_other_token(
    client: Client, db: asyncpg.Connection, alice: UserFixture
) -> None:
    stolen = await make_token(db, alice.id)
    publish_only = await make_token(db, alice.id, ["registry:publish"])
    thread = await client.post("/api/discussions/threads", json={"title": "t", "contents": "c"}, headers=alice.headers)
    reply = await client.post(
        f"/api/discussions/threads/{(await thread.json())['id']}/reply-token", headers=alice.headers
    )
    assert reply.status in (200, 201)
    body = {"password": NEW_PASSWORD, "current_password": PASSWORD}
    assert (await client.patch("/api/users/alice", json=body, headers=alice.headers)).status == 200
    assert (await client.get("/api/user", headers=auth(stolen))).status == 401
    assert (await client.get("/api/user", headers=auth(publish_only))).status == 401
    assert (await client.get("/api/user", headers=alice.headers)).status == 200, "the changing token is kept"
    assert await db.fetchval("SELECT count(*) FROM discussion_mail_reply_tokens WHERE deleted_at IS NULL") == 0


async def test_a_site_admin_resetting_a_password_ends_all_the_users_tokens(
    client: Client, alice: UserFixture, admin: UserFixture
) -> None:
    response = await client.patch("/api/users/alice", json={"password": NEW_PASSWORD}, headers=admin.headers)
    assert response.status == 200
    assert (await client.get("/api/user", headers=alice.headers)).status == 401
    assert (await client.get("/api/user", headers=admin.headers)).status == 200


async def test_other_profile_changes_leave_tokens_alone(
    client: Client, db: asyncpg.Connection, alice: UserFixture
) -> None:
    other = await make_token(db, alice.id)
    assert (await client.patch("/api/users/alice", json={"display_name": "A"}, headers=alice.headers)).status == 200
    assert (await client.get("/api/user", headers=auth(other))).status == 200


# -- per-address limits ----------------------------------------------------------------------------


async def test_sign_ups_are_limited_per_client_address(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection
) -> None:
    client = await _limited_client(make_client, db_url, signups_per_address=2)
    statuses = [
        (await client.post("/api/users", json=_signup(f"user{n}"), headers=_from("203.0.113.5"))).status
        for n in range(3)
    ]
    assert statuses == [201, 201, 429]
    assert await db.fetchval("SELECT count(*) FROM users") == 2
    other = await client.post("/api/users", json=_signup("user9"), headers=_from("203.0.113.6"))
    assert other.status == 201, "another client behind the same proxy"
    admin = await make_user(db, "root", site_admin=True)
    by_admin = await client.post("/api/users", json=_signup("user8"), headers={**admin.headers, **_from("203.0.113.5")})
    assert by_admin.status == 201, "site admins are not limited"


async def test_verification_mails_are_limited_per_client_and_per_recipient(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection
) -> None:
    client = await _limited_client(make_client, db_url, mails_per_address=2)
    users = [await make_user(db, f"user{n}") for n in range(4)]

    async def add(user_index: int, email: str, address: str) -> int:
        user = users[user_index]
        response = await client.post(
            f"/api/users/{user.username}/emails", json={"email": email}, headers={**user.headers, **_from(address)}
        )
        return response.status

    assert [await add(0, f"a{n}@example.com", "203.0.113.5") for n in range(3)] == [201, 201, 429]
    # one inbox, from many clients
    assert [await add(n, "victim@example.com", f"198.51.100.{n}") for n in range(3)] == [201, 201, 429]
    assert await add(3, "VICTIM@example.com", "198.51.100.9") == 429, "the recipient is folded"


async def test_survey_answers_are_limited_per_client_address(make_client: AppFactory, db_url: str) -> None:
    client = await _limited_client(make_client, db_url, surveys_per_address=3)
    statuses = [
        (await client.post("/api/surveys", json={"score": 10}, headers=_from("203.0.113.5"))).status for _ in range(4)
    ]
    assert statuses == [201, 201, 201, 429]
    assert (await client.post("/api/surveys", json={"score": 10}, headers=_from("203.0.113.6"))).status == 201


# -- download counts -------------------------------------------------------------------------------


async def test_one_client_counts_one_download_per_release_per_window(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection
) -> None:
    client = await _limited_client(make_client, db_url)
    alice = await make_user(db, "alice")
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    await publish(client, alice.headers, "alice/wc", "1.1.0")
    for _ in range(50):
        await client.get("/api/extensions/alice/wc/-/bundle.js?version=1.0.0", headers=_from("203.0.113.5"))
    await client.get("/api/extensions/alice/wc/-/bundle.js?version=1.1.0", headers=_from("203.0.113.5"))
    for n in range(3):
        await client.get("/api/extensions/alice/wc/-/bundle.js?version=1.0.0", headers=_from(f"198.51.100.{n}"))
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::ffff"):  # one IPv6 /64 is one client
        await client.get("/api/extensions/alice/wc/-/bundle.js?version=1.0.0", headers=_from(host))
    assert await client.app[appkeys.DOWNLOADS].flush(client.app[appkeys.POOL]) == 1 + 1 + 3 + 1
    extension = await (await client.get("/api/extensions/alice/wc")).json()
    assert extension["downloads"] == 6
