"""The site's own tables: identity, surveys and NPS, saved queries, cert cache, Phabricator repos."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.support.factories import make_user

Client = TestClient[web.Request, web.Application]


async def test_the_site_shows_its_id_and_state_and_admins_see_the_schema(
    client: Client, db: asyncpg.Connection
) -> None:
    public = await (await client.get("/api/site")).json()
    assert public["initialized"] is False
    assert "schema_migrations" not in public
    admin = await make_user(db, "root", site_admin=True)
    for_admin = await (await client.get("/api/site", headers=admin.headers)).json()
    assert for_admin["site_id"] == public["site_id"]
    assert for_admin["schema_migrations"]["dirty"] is False
    assert isinstance(for_admin["schema_migrations"]["version"], int)


async def test_anyone_answers_surveys_and_admins_see_the_net_promoter_score(
    client: Client, db: asyncpg.Connection
) -> None:
    admin = await make_user(db, "root", site_admin=True)
    alice = await make_user(db, "alice")
    answers = [(10, None), (9, alice), (8, None), (3, None), (0, None)]
    for score, user in answers:
        body = {"score": score, "reason": "because", "email": "a@example.com" if user is None else None}
        response = await client.post("/api/surveys", json=body, headers=user.headers if user else {})
        assert response.status == 201
    assert (await client.get("/api/surveys")).status == 401
    assert (await client.get("/api/surveys", headers=alice.headers)).status == 403
    report = await (await client.get("/api/surveys", headers=admin.headers)).json()
    assert report["net_promoter_score"] == {
        "score": 0.0,
        "responses": 5,
        "promoters": 2,
        "passives": 1,
        "detractors": 2,
    }
    assert [item["score"] for item in report["items"]] == [0, 3, 8, 9, 10]
    assert next(item for item in report["items"] if item["score"] == 9)["username"] == "alice"
    past = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    older = await (await client.get("/api/surveys", params={"until": past}, headers=admin.headers)).json()
    assert older["net_promoter_score"]["responses"] == 0
    assert older["net_promoter_score"]["score"] is None


@pytest.mark.parametrize(
    "body", [{"score": 11}, {"score": -1}, {"score": "9"}, {}, {"score": 5, "email": "nope"}, {"score": 5, "x": 1}]
)
async def test_invalid_survey_answers_are_422(client: Client, db: asyncpg.Connection, body: dict[str, object]) -> None:
    assert (await client.post("/api/surveys", json=body)).status == 422
    assert await db.fetchval("SELECT count(*) FROM survey_responses") == 0


@pytest.mark.parametrize(
    "query", ["since=yesterday", "since=2026-01-01T00:00:00", "since=2027-01-01T00:00:00Z&until=2026-01-01T00:00:00Z"]
)
async def test_bad_periods_are_400(client: Client, db: asyncpg.Connection, query: str) -> None:
    admin = await make_user(db, "root", site_admin=True)
    assert (await client.get(f"/api/surveys?{query}", headers=admin.headers)).status == 400


async def test_saved_query_executions_are_upserted_by_text(client: Client, db: asyncpg.Connection) -> None:
    admin = await make_user(db, "root", site_admin=True)
    alice = await make_user(db, "alice")
    now = datetime.now(UTC)
    first = {
        "query": "repo:x TODO",
        "last_executed": now.isoformat(),
        "latest_result": now.isoformat(),
        "exec_duration_ns": 1200,
    }
    assert (await client.put("/api/saved-queries", json=first, headers=alice.headers)).status == 403
    assert (await client.put("/api/saved-queries", json=first, headers=admin.headers)).status == 200
    later = {**first, "last_executed": (now + timedelta(minutes=5)).isoformat(), "exec_duration_ns": 900}
    assert (await (await client.put("/api/saved-queries", json=later, headers=admin.headers)).json())[
        "exec_duration_ns"
    ] == 900
    listing = await (await client.get("/api/saved-queries", headers=admin.headers)).json()
    assert [item["query"] for item in listing["items"]] == ["repo:x TODO"]
    assert await db.fetchval("SELECT count(*) FROM saved_queries") == 1
    bad = {**first, "last_executed": "soon"}
    assert (await client.put("/api/saved-queries", json=bad, headers=admin.headers)).status in (400, 422)


async def test_the_cert_cache_behaves_like_an_autocert_cache(client: Client, db: asyncpg.Connection) -> None:
    admin = await make_user(db, "root", site_admin=True)
    alice = await make_user(db, "alice")
    data = base64.b64encode(b"-----BEGIN CERTIFICATE-----").decode()
    assert (await client.put("/api/cert-cache/example.com", json={"data": data}, headers=alice.headers)).status == 403
    assert (await client.put("/api/cert-cache/example.com", json={"data": data}, headers=admin.headers)).status == 200
    entry = await (await client.get("/api/cert-cache/example.com", headers=admin.headers)).json()
    assert entry["data"] == data
    assert (await client.delete("/api/cert-cache/example.com", headers=admin.headers)).status == 204
    assert (await client.get("/api/cert-cache/example.com", headers=admin.headers)).status == 404
    assert (await client.delete("/api/cert-cache/example.com", headers=admin.headers)).status == 204, "absent: fine"
    assert await db.fetchval("SELECT deleted_at IS NOT NULL FROM cert_cache WHERE cache_key = 'example.com'")
    assert (await client.put("/api/cert-cache/example.com", json={"data": "%%%"}, headers=admin.headers)).status == 400
    assert (await client.get("/api/cert-cache/wharf:license-signing-key", headers=admin.headers)).status == 404


async def test_phabricator_repos_map_a_uri_once(client: Client, db: asyncpg.Connection) -> None:
    admin = await make_user(db, "root", site_admin=True)
    alice = await make_user(db, "alice")
    body = {
        "callsign": "DIFF",
        "uri": "phab.example.com/diffusion/DIFF",
        "url": "https://phab.example.com/diffusion/DIFF/",
    }
    assert (await client.post("/api/phabricator-repos", json=body, headers=alice.headers)).status == 403
    created = await client.post("/api/phabricator-repos", json=body, headers=admin.headers)
    assert created.status == 201
    repo_id = (await created.json())["id"]
    assert (
        await client.post("/api/phabricator-repos", json={**body, "callsign": "OTHER"}, headers=admin.headers)
    ).status == 409
    listing = await (await client.get("/api/phabricator-repos", headers=admin.headers)).json()
    assert [item["callsign"] for item in listing["items"]] == ["DIFF"]
    assert (await client.delete(f"/api/phabricator-repos/{repo_id}", headers=admin.headers)).status == 204
    assert (await client.delete(f"/api/phabricator-repos/{repo_id}", headers=admin.headers)).status == 404
    again = await client.post("/api/phabricator-repos", json=body, headers=admin.headers)
    assert again.status == 201, "a deleted mapping frees its URI"
    bad = {**body, "url": "ftp://x"}
    assert (await client.post("/api/phabricator-repos", json=bad, headers=admin.headers)).status == 422
