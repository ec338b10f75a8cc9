"""The site itself: its identity, Net Promoter surveys, and saved queries' executions (the rules:
registry.services.site). Site-admin routes ask the policy before reading their input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from registry.auth.authentication import request_actor
from registry.domain.errors import BadRequest
from registry.handlers.common import json_body, services, site_admin_actor
from registry.handlers.paging import page_request
from registry.http import json_response
from registry.services.site import SurveyAnswer
from registry.store.site import SavedQuery
from registry.validation import parse_timestamp
from registry.views.common import page_json
from registry.views.site import saved_query_json, site_json, survey_report_json

routes = web.RouteTableDef()


@routes.get("/api/site")
async def get_site(request: web.Request) -> web.Response:
    """The site id and whether its first user exists; site admins also see the schema version."""
    state = await services(request).site.state(request_actor(request))
    return json_response(site_json(state))


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


@routes.post("/api/surveys")
async def answer_survey(request: web.Request) -> web.Response:
    """Anyone may answer; answers are limited per client address (WHARF_SURVEYS_PER_ADDRESS)."""
    body = await json_body(request, "SurveyAnswer")
    answer = SurveyAnswer(body["score"], body.get("email"), body.get("reason"), body.get("better"))
    response_id = await services(request).site.answer_survey(request_actor(request), request.remote, answer)
    return json_response({"id": response_id}, status=201)


@routes.get("/api/surveys")
async def list_surveys(request: web.Request) -> web.Response:
    """Answers in a period, newest first, with its Net Promoter Score (site admins)."""
    actor = site_admin_actor(request)
    since, until = _period(request)
    report = await services(request).site.survey_report(actor, since, until, page_request(request))
    return json_response(survey_report_json(report))


@routes.put("/api/saved-queries")
async def record_saved_query(request: web.Request) -> web.Response:
    """Record a saved query's latest execution (upsert by its text; site admins, i.e. the jobs
    that run saved searches)."""
    actor = site_admin_actor(request)
    body = await json_body(request, "SavedQueryExecution")
    # both checked by the schema's `format: date-time` (registry.validation.parse_timestamp)
    last_executed, latest_result = parse_timestamp(body["last_executed"]), parse_timestamp(body["latest_result"])
    execution = SavedQuery(body["query"], last_executed, latest_result, body["exec_duration_ns"])
    return json_response(saved_query_json(await services(request).site.record_saved_query(actor, execution)))


@routes.get("/api/saved-queries")
async def list_saved_queries(request: web.Request) -> web.Response:
    actor = site_admin_actor(request)
    found = await services(request).site.saved_queries(actor, page_request(request))
    return json_response(page_json(found, saved_query_json))
