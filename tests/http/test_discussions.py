"""Discussions: threads about code, comments, archive and delete, reports, mail reply tokens."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry.domain.page import PageRequest
from registry.store import discussions as store
from tests.support.factories import UserFixture, make_user, row_counts
from tests.support.paging import every_page

Client = TestClient[web.Request, web.Application]
TABLES = ("discussion_threads", "discussion_threads_target_repo", "discussion_comments", "discussion_mail_reply_tokens")
REPO = "github.com/acme/widgets"

FULL_TARGET = {
    "repo": REPO,
    "path": "src/widget.py",
    "branch": "main",
    "revision": "0123456789abcdef0123456789abcdef01234567",
    "start_line": 10,
    "end_line": 12,
    "start_character": 4,
    "end_character": 2,
    "lines_before": "def f():\n",
    "lines": "    return 1\n    # done\n",
    "lines_after": "\n",
}


async def _repo(db: asyncpg.Connection, uri: str = REPO) -> None:
    await db.execute("INSERT INTO repo (uri) VALUES ($1)", uri)


async def _thread(client: Client, user: UserFixture, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/discussions/threads", json={"title": "A thread", **body}, headers=user.headers)
    assert response.status == 201, await response.text()
    thread: dict[str, Any] = await response.json()
    return thread


async def _comment(client: Client, user: UserFixture, thread_id: int, contents: str = "Hi") -> dict[str, Any]:
    response = await client.post(
        f"/api/discussions/threads/{thread_id}/comments", json={"contents": contents}, headers=user.headers
    )
    assert response.status == 201, await response.text()
    comment: dict[str, Any] = await response.json()
    return comment


async def _reply_token(client: Client, user: UserFixture, thread_id: int) -> tuple[int, str]:
    response = await client.post(f"/api/discussions/threads/{thread_id}/reply-token", headers=user.headers)
    token: str = (await response.json()).get("token", "")
    return response.status, token


async def test_a_thread_with_a_full_target_round_trips(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await _repo(db)
    created = await _thread(client, alice, title="Why return 1?", target=FULL_TARGET, contents="**Really?**")
    assert created["title"] == "Why return 1?"
    assert created["author"] == "alice"
    assert created["target"] == FULL_TARGET
    assert created["archived_at"] is None
    assert created["comment"]["contents"] == "**Really?**"
    assert created["comment"]["author"] == "alice"
    fetched = await (await client.get(f"/api/discussions/threads/{created['id']}")).json()
    assert fetched == {key: value for key, value in created.items() if key != "comment"}
    target_id = await db.fetchval("SELECT target_repo_id FROM discussion_threads WHERE id = $1", created["id"])
    back = await db.fetchval("SELECT thread_id FROM discussion_threads_target_repo WHERE id = $1", target_id)
    assert back == created["id"], "the thread and its target point at each other"
    comments = await (await client.get(f"/api/discussions/threads/{created['id']}/comments")).json()
    assert [c["contents"] for c in comments["items"]] == ["**Really?**"]


async def test_a_thread_without_target_or_comment(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    created = await _thread(client, alice)
    assert created["target"] is None
    assert created["comment"] is None
    assert await db.fetchval("SELECT count(*) FROM discussion_comments") == 0


async def test_listing_by_repo_and_path(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await _repo(db)
    await _repo(db, "github.com/acme/other")
    a = await _thread(client, alice, target={"repo": REPO, "path": "a.py"})
    b = await _thread(client, alice, target={"repo": REPO, "path": "b.py"})
    c = await _thread(client, alice, target={"repo": REPO.upper(), "path": "a.py"})  # URIs are case-insensitive
    await _thread(client, alice, target={"repo": "github.com/acme/other", "path": "a.py"})
    await _thread(client, alice)
    deleted = await _thread(client, alice, target={"repo": REPO, "path": "a.py"})
    assert (await client.delete(f"/api/discussions/threads/{deleted['id']}", headers=alice.headers)).status == 204

    def ids(page: dict[str, Any]) -> list[int]:
        return [thread["id"] for thread in page["items"]]

    url = "/api/discussions/threads"
    everything = await (await client.get(url, params={"repo": REPO})).json()
    assert ids(everything) == [a["id"], b["id"], c["id"]]
    assert everything["items"][2]["target"]["repo"] == REPO
    on_a = await (await client.get(url, params={"repo": REPO, "path": "a.py"})).json()
    assert ids(on_a) == [a["id"], c["id"]]
    first = await (await client.get(url, params={"repo": REPO, "limit": "2"})).json()
    assert ids(first) == [a["id"], b["id"]]
    rest = await (await client.get(url, params={"repo": REPO, "limit": "2", "cursor": first["next_cursor"]})).json()
    assert ids(rest) == [c["id"]]
    assert rest["next_cursor"] is None
    assert (await client.get(url, params={"repo": "github.com/nobody/x"})).status == 404
    assert (await client.get(url)).status == 400
    assert (await client.get(url, params={"repo": REPO, "include_archived": "maybe"})).status == 400


async def test_archived_threads_are_listed_only_on_request_and_take_no_comments(
    client: Client, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    await _repo(db)
    thread = await _thread(client, alice, target={"repo": REPO})
    archived = await client.post(f"/api/discussions/threads/{thread['id']}/archive", headers=alice.headers)
    assert archived.status == 200
    assert (await archived.json())["archived_at"] is not None
    listed = await (await client.get("/api/discussions/threads", params={"repo": REPO})).json()
    assert listed["items"] == []
    listed = await (
        await client.get("/api/discussions/threads", params={"repo": REPO, "include_archived": "true"})
    ).json()
    assert [t["id"] for t in listed["items"]] == [thread["id"]]
    response = await client.post(
        f"/api/discussions/threads/{thread['id']}/comments", json={"contents": "late"}, headers=alice.headers
    )
    assert response.status == 409
    assert await db.fetchval("SELECT count(*) FROM discussion_comments") == 0


@pytest.mark.parametrize("action", ["archive", "delete"])
async def test_archive_and_delete_by_author_or_site_admin_only(
    client: Client, db: asyncpg.Connection, action: str
) -> None:
    root = await make_user(db, "root", site_admin=True)
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")

    async def act(user: UserFixture | None, thread_id: int) -> int:
        headers = user.headers if user else {}
        if action == "archive":
            return (await client.post(f"/api/discussions/threads/{thread_id}/archive", headers=headers)).status
        return (await client.delete(f"/api/discussions/threads/{thread_id}", headers=headers)).status

    ok = 200 if action == "archive" else 204
    by_author, by_admin = await _thread(client, alice), await _thread(client, alice)
    assert await act(None, by_author["id"]) == 401
    assert await act(bob, by_author["id"]) == 403
    assert await db.fetchval("SELECT count(*) FROM discussion_threads WHERE archived_at IS NOT NULL") == 0
    assert await db.fetchval("SELECT count(*) FROM discussion_threads WHERE deleted_at IS NOT NULL") == 0
    assert await act(alice, by_author["id"]) == ok
    assert await act(root, by_admin["id"]) == ok
    assert await act(alice, 999) == 404
    if action == "delete":
        assert await act(alice, by_author["id"]) == 404, "a deleted thread is gone"
        assert (await client.get(f"/api/discussions/threads/{by_author['id']}")).status == 404
        assert (await client.get(f"/api/discussions/threads/{by_author['id']}/comments")).status == 404
        assert await act(root, by_author["id"]) == 404
        archive = await client.post(f"/api/discussions/threads/{by_author['id']}/archive", headers=root.headers)
        assert archive.status == 404


async def test_comments_paginate_and_are_deleted_by_author_or_admin(client: Client, db: asyncpg.Connection) -> None:
    root = await make_user(db, "root", site_admin=True)
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    thread = await _thread(client, alice)
    posted = [await _comment(client, alice if n % 2 else bob, thread["id"], f"comment {n}") for n in range(5)]
    url = f"/api/discussions/threads/{thread['id']}/comments"
    pages = await every_page(client, url)
    assert [c["contents"] for page in pages for c in page] == [f"comment {n}" for n in range(5)]
    assert len(pages) == 3
    assert (await client.get(url, params={"cursor": "not-a-cursor"})).status == 400

    bobs = posted[0]["id"]
    assert (await client.delete(f"/api/discussions/comments/{bobs}", headers=alice.headers)).status == 403
    assert (await client.delete(f"/api/discussions/comments/{bobs}", headers=bob.headers)).status == 204
    assert (await client.delete(f"/api/discussions/comments/{bobs}", headers=bob.headers)).status == 404
    assert (await client.delete(f"/api/discussions/comments/{posted[1]['id']}", headers=root.headers)).status == 204
    remaining = await (await client.get(url)).json()
    assert [c["contents"] for c in remaining["items"]] == ["comment 2", "comment 3", "comment 4"]


async def test_a_comment_is_edited_by_its_author_only(client: Client, db: asyncpg.Connection) -> None:
    root = await make_user(db, "root", site_admin=True)
    alice = await make_user(db, "alice")
    thread = await _thread(client, alice)
    comment = await _comment(client, alice, thread["id"], "tpyo")
    url = f"/api/discussions/comments/{comment['id']}"
    assert (await client.patch(url, json={"contents": "nope"}, headers=root.headers)).status == 403
    response = await client.patch(url, json={"contents": "typo"}, headers=alice.headers)
    assert response.status == 200
    assert (await response.json())["contents"] == "typo"
    assert await db.fetchval("SELECT contents FROM discussion_comments") == "typo"


async def test_reports_one_per_user_and_the_most_reported_list_is_for_site_admins(
    client: Client, db: asyncpg.Connection
) -> None:
    root = await make_user(db, "root", site_admin=True)
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    carol = await make_user(db, "carol")
    thread = await _thread(client, alice)
    quiet = await _comment(client, alice, thread["id"], "fine")
    once = await _comment(client, alice, thread["id"], "meh")
    twice = await _comment(client, bob, thread["id"], "spam")

    async def report(user: UserFixture, comment: dict[str, Any], reason: str = "spam") -> int:
        url = f"/api/discussions/comments/{comment['id']}/reports"
        return (await client.post(url, json={"reason": reason}, headers=user.headers)).status

    assert await report(carol, twice, "advertising") == 204
    assert await report(alice, twice, "off topic") == 204
    assert await report(alice, twice, "again") == 409, "one report per user and comment"
    assert await report(bob, once) == 204
    assert await report(bob, {"id": 999}) == 404
    assert (await client.post(f"/api/discussions/comments/{once['id']}/reports", json={"reason": "x"})).status == 401

    url = "/api/discussions/reported-comments"
    assert (await client.get(url, headers=alice.headers)).status == 403
    assert (await client.get(url)).status == 401
    listing = await (await client.get(url, headers=root.headers)).json()
    assert [(c["id"], c["report_count"]) for c in listing["items"]] == [(twice["id"], 2), (once["id"], 1)]
    assert listing["items"][0]["reports"] == [
        {"reporter": "carol", "reason": "advertising"},
        {"reporter": "alice", "reason": "off topic"},
    ]
    assert quiet["id"] not in [c["id"] for c in listing["items"]]
    first = await (await client.get(url, params={"limit": "1"}, headers=root.headers)).json()
    assert [c["id"] for c in first["items"]] == [twice["id"]]
    rest = await (
        await client.get(url, params={"limit": "1", "cursor": first["next_cursor"]}, headers=root.headers)
    ).json()
    assert [c["id"] for c in rest["items"]] == [once["id"]]
    assert rest["next_cursor"] is None
    # Reports are never shown to anyone else.
    comments = await (await client.get(f"/api/discussions/threads/{thread['id']}/comments")).json()
    assert all("reports" not in c for c in comments["items"])


async def test_a_mail_reply_posts_as_the_tokens_user(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    thread = await _thread(client, alice)
    status, token = await _reply_token(client, bob, thread["id"])
    assert status == 201
    response = await client.post("/api/discussions/mail-reply", json={"token": token, "contents": "Replying by mail"})
    assert response.status == 201
    assert (await response.json())["author"] == "bob"
    comments = await (await client.get(f"/api/discussions/threads/{thread['id']}/comments")).json()
    assert [(c["author"], c["contents"]) for c in comments["items"]] == [("bob", "Replying by mail")]


async def test_one_reply_token_per_user_and_thread_shown_only_to_its_owner(
    client: Client, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    thread = await _thread(client, alice)
    other = await _thread(client, alice)
    first_status, first = await _reply_token(client, bob, thread["id"])
    again_status, again = await _reply_token(client, bob, thread["id"])
    assert (first_status, again_status) == (201, 200)
    assert again == first
    assert len(first) >= 43
    _, alices = await _reply_token(client, alice, thread["id"])
    _, elsewhere = await _reply_token(client, bob, other["id"])
    assert len({first, alices, elsewhere}) == 3
    assert await db.fetchval("SELECT count(*) FROM discussion_mail_reply_tokens") == 3
    assert (await client.post(f"/api/discussions/threads/{thread['id']}/reply-token")).status == 401
    assert (await client.post("/api/discussions/threads/999/reply-token", headers=bob.headers)).status == 404


async def test_a_revoked_token_cannot_post(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    thread = await _thread(client, alice)
    _, token = await _reply_token(client, alice, thread["id"])
    url = f"/api/discussions/threads/{thread['id']}/reply-token"
    assert (await client.delete(url, headers=alice.headers)).status == 204
    assert (await client.delete(url, headers=alice.headers)).status == 404
    response = await client.post("/api/discussions/mail-reply", json={"token": token, "contents": "too late"})
    assert response.status == 401
    assert await db.fetchval("SELECT count(*) FROM discussion_comments") == 0
    status, fresh = await _reply_token(client, alice, thread["id"])
    assert status == 201
    assert fresh != token


async def test_mail_replies_need_a_known_token_and_an_open_thread(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    archived, deleted = await _thread(client, alice), await _thread(client, alice)
    _, archived_token = await _reply_token(client, alice, archived["id"])
    _, deleted_token = await _reply_token(client, alice, deleted["id"])
    await client.post(f"/api/discussions/threads/{archived['id']}/archive", headers=alice.headers)
    await client.delete(f"/api/discussions/threads/{deleted['id']}", headers=alice.headers)
    for token, status in (("unknown-token", 401), (archived_token, 409), (deleted_token, 404)):
        response = await client.post("/api/discussions/mail-reply", json={"token": token, "contents": "hi"})
        assert response.status == status, token
    assert await db.fetchval("SELECT count(*) FROM discussion_comments") == 0


LONG = "x" * 501


@pytest.mark.parametrize(
    ("url", "body", "status"),
    [
        ("/api/discussions/threads", {}, 422),
        ("/api/discussions/threads", {"title": ""}, 422),
        ("/api/discussions/threads", {"title": "   "}, 422),
        ("/api/discussions/threads", {"title": LONG}, 422),
        ("/api/discussions/threads", {"title": 5}, 422),
        ("/api/discussions/threads", {"title": "t", "extra": 1}, 422),
        ("/api/discussions/threads", {"title": "t\x00"}, 422),
        ("/api/discussions/threads", {"title": "t", "contents": ""}, 422),
        ("/api/discussions/threads", {"title": "t", "contents": "é" * 40000}, 422),  # 80,000 bytes
        ("/api/discussions/threads", {"title": "t", "target": {"repo": "github.com/nobody/x"}}, 422),
        ("/api/discussions/threads", {"title": "t", "target": {"path": "a.py"}}, 422),
        ("/api/discussions/threads", {"title": "t", "target": {"repo": REPO, "start_line": -1}}, 422),
        ("/api/discussions/threads", {"title": "t", "target": {"repo": REPO, "start_line": 2**31}}, 422),
        ("/api/discussions/threads", {"title": "t", "target": {"repo": REPO, "start_line": 5, "end_line": 4}}, 422),
        ("/api/discussions/threads", {"title": "t", "target": {"repo": REPO, "end_line": 4}}, 422),
        ("/api/discussions/threads", {"title": "t", "target": {"repo": REPO, "start_line": "1"}}, 422),
        (
            "/api/discussions/threads",
            {"title": "t", "target": {"repo": REPO, "start_line": 1, "start_character": 5, "end_character": 2}},
            422,
        ),
        ("/api/discussions/threads", {"title": "t", "target": {"repo": REPO, "path": ""}}, 422),
        ("/api/discussions/threads", {"title": "t", "target": {"repo": REPO, "revision": "a b"}}, 422),
        ("/api/discussions/threads", {"title": "t", "target": {"repo": REPO, "lines": "x" * 65537}}, 422),
        ("/api/discussions/threads", {"title": "t", "target": {"repo": REPO, "path": "a\x00"}}, 422),
        ("/api/discussions/threads", {"title": "t", "target": {"repo": REPO, "colour": "red"}}, 422),
        ("/api/discussions/threads", [], 422),
        ("/api/discussions/threads/{id}/comments", {}, 422),
        ("/api/discussions/threads/{id}/comments", {"contents": " \n"}, 422),
        ("/api/discussions/threads/{id}/comments", {"contents": "x" * 65537}, 422),
        ("/api/discussions/threads/999/comments", {"contents": "hi"}, 404),
        ("/api/discussions/threads/x/comments", {"contents": "hi"}, 400),
        ("/api/discussions/comments/{comment}/reports", {"reason": ""}, 422),
        ("/api/discussions/comments/{comment}/reports", {"reason": LONG}, 422),
        ("/api/discussions/mail-reply", {"token": "", "contents": "hi"}, 422),
        ("/api/discussions/mail-reply", {"token": "a b", "contents": "hi"}, 422),
        ("/api/discussions/mail-reply", {"token": "{token}", "contents": ""}, 422),
        ("/api/discussions/mail-reply", {"token": "{token}"}, 422),
    ],
)
async def test_bad_input_is_refused_and_writes_nothing(
    client: Client, db: asyncpg.Connection, url: str, body: Any, status: int
) -> None:
    alice = await make_user(db, "alice")
    await _repo(db)
    thread = await _thread(client, alice, target={"repo": REPO, "path": "a.py"}, contents="first")
    comment_id = thread["comment"]["id"]
    _, token = await _reply_token(client, alice, thread["id"])
    before = await row_counts(db, TABLES)
    reports_before = await db.fetchval("SELECT reports FROM discussion_comments WHERE id = $1", comment_id)
    if isinstance(body, dict) and body.get("token") == "{token}":
        body = {**body, "token": token}
    target = url.format(id=thread["id"], comment=comment_id)
    response = await client.post(target, json=body, headers=alice.headers)
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    if status == 422:
        assert problem["errors"], problem
    assert await row_counts(db, TABLES) == before
    assert await db.fetchval("SELECT reports FROM discussion_comments WHERE id = $1", comment_id) == reports_before


async def test_every_discussion_route_is_in_the_openapi_document(client: Client) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    missing = [
        f"{route.method} {route.resource.canonical}"
        for route in client.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/discussions")
        and route.method != "HEAD"
        and route.method.lower() not in document["paths"].get(route.resource.canonical, {})
    ]
    assert missing == []
    assert "/api/discussions/mail-reply" in document["paths"]


class _Capture:
    """Stands in for a connection: records the statement a store function runs, returns no rows."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.calls.append((sql, args))
        return []


async def _plan(db: asyncpg.Connection, capture: _Capture) -> str:
    sql, args = capture.calls[-1]
    async with db.transaction():
        await db.execute("SET LOCAL enable_seqscan = off")
        plan: str = await db.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    return plan


async def test_listing_and_moderation_queries_use_the_seed_indexes(db: asyncpg.Connection) -> None:
    """Planned on data of this test's own, analysed here, so earlier tests' statistics in the
    worker's database cannot change the plan."""
    user = await db.fetchval("INSERT INTO users (username) VALUES ('planner') RETURNING id")
    repo = await db.fetchval("INSERT INTO repo (uri) VALUES ('example.com/plans') RETURNING id")
    await db.execute(
        "INSERT INTO discussion_threads (author_user_id, title) SELECT $1, 't' || n FROM generate_series(1, 3000) n",
        user,
    )
    await db.execute(
        "INSERT INTO discussion_threads_target_repo (thread_id, repo_id, path)"
        " SELECT id, $1, 'f' || (id % 300) || '.py' FROM discussion_threads",
        repo,
    )
    await db.execute(
        "INSERT INTO discussion_comments (thread_id, author_user_id, contents, reports)"
        " SELECT id, $1, 'c', CASE WHEN id % 100 = 0 THEN ARRAY['1:spam'] ELSE '{}' END FROM discussion_threads",
        user,
    )
    for table in ("discussion_threads", "discussion_threads_target_repo", "discussion_comments"):
        await db.execute(f"ANALYZE {table}")
    capture = _Capture()
    await store.list_threads(capture, repo, "f7.py", include_archived=False, page=PageRequest(50))
    assert "discussion_threads_target_repo_repo_id_path_idx" in await _plan(db, capture)
    await store.most_reported(capture, PageRequest(50))
    assert "discussion_comments_reports_array_length_idx" in await _plan(db, capture)
