"""The site itself: its identity, Net Promoter surveys, and saved queries' executions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from registry import appkeys
from registry.auth import policy
from registry.auth.actor import request_actor
from registry.domain.errors import BadRequest, NotFound
from registry.handlers.common import connection, json_body, transaction
from registry.http import json_response
from registry.pagination import Column, encode_cursor, page_request
from registry.store import site as store
from registry.store.site import SavedQuery, SurveyResponse
from registry.validation import parse_timestamp

routes = web.RouteTableDef()


@routes.get("/api/site")
async def get_site(request: web.Request) -> web.Response:
    """The site id and whether its first user exists; site admins also see the schema version."""
    actor = request_actor(request)
    async with connection(request) as conn:
        site = await store.site(conn)
        schema = await store.schema_state(conn) if policy.is_site_admin(actor) else None
    if site is None:
        raise NotFound("The site is not configured yet.")
    body: dict[str, Any] = {"site_id": site.site_id, "initialized": site.initialized}
    if schema is not None:
        body["schema_migrations"] = {"version": schema[0], "dirty": schema[1]}
    return json_response(body)


def _period(request: web.Request) -> tuple[datetime, datetime]:
    """`since`/`until` (RFC 3339; default: the last 30 days)."""
    now = datetime.now(UTC)
    try:
        until = parse_timestamp(request.query["until"]) if "until" in request.query else now
        since = parse_timestamp(request.query["since"]) if "since" in request.query else until - timedelta(days=30)
    except (ValueError, OverflowError):  # OverflowError: a default `since` before year 1
        raise BadRequest(
            "since and until must be RFC 3339 timestamps with an offset (e.g. 2026-01-01T00:00:00Z)."
        ) from None
    if since >= until:
        raise BadRequest("since must be before until.")
    return since, until


def _survey(response: SurveyResponse) -> dict[str, Any]:
    return {
        "id": response.id,
        "username": response.username,
        "email": response.email,
        "score": response.score,
        "reason": response.reason,
        "better": response.better,
        "created_at": response.created_at,
    }


@routes.post("/api/surveys")
async def answer_survey(request: web.Request) -> web.Response:
    """Anyone may answer: signed-in answers are attributed to their user. Answers are limited per
    client address (WHARF_SURVEYS_PER_ADDRESS), signed in or not."""
    actor = request_actor(request)
    body = await json_body(request, "SurveyAnswer")
    request.app[appkeys.RATE_LIMITS].survey_answer(request.remote)
    async with transaction(request) as conn:
        response_id = await store.insert_survey_response(
            conn,
            user_id=actor.user.id if actor.user is not None else None,
            email=body.get("email"),
            score=body["score"],
            reason=body.get("reason"),
            better=body.get("better"),
        )
    return json_response({"id": response_id}, status=201)


@routes.get("/api/surveys")
async def list_surveys(request: web.Request) -> web.Response:
    """Answers in a period, newest first, with its Net Promoter Score (site admins)."""
    policy.require_site_admin(request_actor(request))
    since, until = _period(request)
    page = page_request(request)
    async with connection(request) as conn:
        answers = await store.survey_responses(
            conn, since, until, before_id=page.after_id(Column.INT8), limit=page.limit + 1
        )
        nps = await store.net_promoter_score(conn, since, until)
    shown = answers[: page.limit]
    return json_response(
        {
            "since": since,
            "until": until,
            "net_promoter_score": {
                "score": nps.score,
                "responses": nps.responses,
                "promoters": nps.promoters,
                "passives": nps.passives,
                "detractors": nps.detractors,
            },
            "items": [_survey(answer) for answer in shown],
            "next_cursor": encode_cursor([shown[-1].id]) if len(answers) > page.limit else None,
        }
    )


def _saved(query: SavedQuery) -> dict[str, Any]:
    return {
        "query": query.query,
        "last_executed": query.last_executed,
        "latest_result": query.latest_result,
        "exec_duration_ns": query.exec_duration_ns,
    }


@routes.put("/api/saved-queries")
async def record_saved_query(request: web.Request) -> web.Response:
    """Record a saved query's latest execution (upsert by its text; site admins, i.e. the jobs
    that run saved searches)."""
    policy.require_site_admin(request_actor(request))
    body = await json_body(request, "SavedQueryExecution")
    # both checked by the schema's `format: date-time` (registry.validation.parse_timestamp)
    last_executed, latest_result = parse_timestamp(body["last_executed"]), parse_timestamp(body["latest_result"])
    async with transaction(request) as conn:
        saved = await store.record_saved_query(
            conn, body["query"], last_executed, latest_result, body["exec_duration_ns"]
        )
    return json_response(_saved(saved))


@routes.get("/api/saved-queries")
async def list_saved_queries(request: web.Request) -> web.Response:
    policy.require_site_admin(request_actor(request))
    page = page_request(request)
    after = page.after_text()
    async with connection(request) as conn:
        rows = await store.saved_queries(conn, after=after, limit=page.limit + 1)
    shown = rows[: page.limit]
    return json_response(
        {
            "items": [_saved(row) for row in shown],
            "next_cursor": encode_cursor([shown[-1].query]) if len(rows) > page.limit else None,
        }
    )
