"""The site as the JSON API shows it: its identity, survey answers and their Net Promoter Score,
saved queries' executions, and the site admins' tables (certificate cache, Phabricator repos)."""

from __future__ import annotations

from typing import Any

from registry.services.site import SiteState, SurveyReport
from registry.store.cert_cache import CacheEntry
from registry.store.site import PhabricatorRepo, SavedQuery, SurveyResponse
from registry.views.common import page_json, record_json


def site_json(state: SiteState) -> dict[str, Any]:
    body = record_json(state.site, "site_id", "initialized")
    if state.schema is not None:
        body["schema_migrations"] = record_json(state.schema, "version", "dirty")
    return body


def survey_json(response: SurveyResponse) -> dict[str, Any]:
    return record_json(response, "id", "username", "email", "score", "reason", "better", "created_at")


def survey_report_json(report: SurveyReport) -> dict[str, Any]:
    nps = record_json(report.net_promoter_score, "score", "responses", "promoters", "passives", "detractors")
    return {
        "since": report.since,
        "until": report.until,
        "net_promoter_score": nps,
        **page_json(report.answers, survey_json),
    }


def saved_query_json(query: SavedQuery) -> dict[str, Any]:
    return record_json(query, "query", "last_executed", "latest_result", "exec_duration_ns")


def cache_entry_json(entry: CacheEntry, *, with_data: bool) -> dict[str, Any]:
    body = record_json(entry, "key", "created_at", "updated_at")
    if with_data:
        body["data"] = entry.b64data
    return body


def phabricator_repo_json(repo: PhabricatorRepo) -> dict[str, Any]:
    return record_json(repo, "id", "callsign", "uri", "url", "created_at", "updated_at")
