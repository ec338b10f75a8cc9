"""The site's own records: its configuration row, surveys, saved queries, Phabricator repos."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class Site:
    site_id: uuid.UUID
    initialized: bool


async def site(conn: asyncpg.Connection) -> Site | None:
    row = await conn.fetchrow(
        "-- source: registry/store/site.py:site\nSELECT site_id, initialized FROM site_config LIMIT 1"
    )
    return Site(uuid.UUID(str(row["site_id"])), row["initialized"]) if row else None


async def schema_state(conn: asyncpg.Connection) -> tuple[int | None, bool]:
    row = await conn.fetchrow(
        "-- source: registry/store/site.py:schema_state\nSELECT version, dirty FROM schema_migrations LIMIT 1"
    )
    return (row["version"], row["dirty"]) if row else (None, False)


@dataclass(frozen=True)
class SurveyResponse:
    id: int
    username: str | None
    email: str | None
    score: int
    reason: str | None
    better: str | None
    created_at: datetime


async def insert_survey_response(
    conn: asyncpg.Connection,
    *,
    user_id: int | None,
    email: str | None,
    score: int,
    reason: str | None,
    better: str | None,
) -> int:
    response_id: int = await conn.fetchval(
        "-- source: registry/store/site.py:insert_survey_response\n"
        "INSERT INTO survey_responses (user_id, email, score, reason, better) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        user_id,
        email,
        score,
        reason,
        better,
    )
    return response_id


async def survey_responses(
    conn: asyncpg.Connection, since: datetime, until: datetime, *, before_id: int | None, limit: int
) -> list[SurveyResponse]:
    rows = await conn.fetch(
        "-- source: registry/store/site.py:survey_responses\n"
        "SELECT s.id, u.username::text AS username, s.email, s.score, s.reason, s.better, s.created_at"
        "  FROM survey_responses s LEFT JOIN users u ON u.id = s.user_id"
        " WHERE s.created_at >= $1 AND s.created_at < $2 AND ($3::bigint IS NULL OR s.id < $3)"
        " ORDER BY s.id DESC LIMIT $4",
        since,
        until,
        before_id,
        limit,
    )
    return [SurveyResponse(**dict(row)) for row in rows]


@dataclass(frozen=True)
class NetPromoterScore:
    responses: int
    promoters: int
    passives: int
    detractors: int

    @property
    def score(self) -> float | None:
        """NPS: % promoters (9-10) minus % detractors (0-6), from -100 to 100."""
        if not self.responses:
            return None
        return round(100 * (self.promoters - self.detractors) / self.responses, 1)


async def net_promoter_score(conn: asyncpg.Connection, since: datetime, until: datetime) -> NetPromoterScore:
    row = await conn.fetchrow(
        "-- source: registry/store/site.py:net_promoter_score\n"
        "SELECT count(*) AS responses, count(*) FILTER (WHERE score >= 9) AS promoters,"
        "       count(*) FILTER (WHERE score BETWEEN 7 AND 8) AS passives,"
        "       count(*) FILTER (WHERE score <= 6) AS detractors"
        "  FROM survey_responses WHERE created_at >= $1 AND created_at < $2",
        since,
        until,
    )
    return NetPromoterScore(**dict(row))


@dataclass(frozen=True)
class SavedQuery:
    query: str
    last_executed: datetime
    latest_result: datetime
    exec_duration_ns: int


async def record_saved_query(
    conn: asyncpg.Connection, query: str, last_executed: datetime, latest_result: datetime, exec_duration_ns: int
) -> SavedQuery:
    """Upsert by the query text (`saved_queries_query_unique`)."""
    row = await conn.fetchrow(
        "-- source: registry/store/site.py:record_saved_query\n"
        "INSERT INTO saved_queries (query, last_executed, latest_result, exec_duration_ns) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (query) DO UPDATE SET last_executed = EXCLUDED.last_executed,"
        "   latest_result = EXCLUDED.latest_result, exec_duration_ns = EXCLUDED.exec_duration_ns"
        " RETURNING query, last_executed, latest_result, exec_duration_ns",
        query,
        last_executed,
        latest_result,
        exec_duration_ns,
    )
    return SavedQuery(**dict(row))


async def saved_queries(conn: asyncpg.Connection, *, after: str | None, limit: int) -> list[SavedQuery]:
    rows = await conn.fetch(
        "-- source: registry/store/site.py:saved_queries\n"
        "SELECT query, last_executed, latest_result, exec_duration_ns FROM saved_queries"
        " WHERE $1::text IS NULL OR query > $1 ORDER BY query LIMIT $2",
        after,
        limit,
    )
    return [SavedQuery(**dict(row)) for row in rows]


async def delete_saved_query(conn: asyncpg.Connection, query: str) -> bool:
    status = await conn.execute(
        "-- source: registry/store/site.py:delete_saved_query\nDELETE FROM saved_queries WHERE query = $1", query
    )
    return bool(status == "DELETE 1")


@dataclass(frozen=True)
class PhabricatorRepo:
    id: int
    callsign: str
    uri: str
    url: str
    created_at: datetime
    updated_at: datetime


_PHABRICATOR = "id, callsign::text, uri::text, url, created_at, updated_at"


async def insert_phabricator_repo(
    conn: asyncpg.Connection, callsign: str, uri: str, url: str
) -> PhabricatorRepo | None:
    """Map a callsign and URI to a repository URL; None when the URI is already mapped (the
    `phabricator_repos_uri_key` constraint). A deleted mapping is brought back rather than
    blocking its URI forever."""
    row = await conn.fetchrow(
        "-- source: registry/store/site.py:insert_phabricator_repo\n"
        "INSERT INTO phabricator_repos (callsign, uri, url) VALUES ($1, $2, $3)"
        " ON CONFLICT (uri) DO UPDATE SET callsign = EXCLUDED.callsign, url = EXCLUDED.url,"
        "   deleted_at = NULL, updated_at = now() WHERE phabricator_repos.deleted_at IS NOT NULL"
        f" RETURNING {_PHABRICATOR}",
        callsign,
        uri,
        url,
    )
    return PhabricatorRepo(**dict(row)) if row else None


async def phabricator_repos(conn: asyncpg.Connection, *, after_id: int | None, limit: int) -> list[PhabricatorRepo]:
    rows = await conn.fetch(
        f"-- source: registry/store/site.py:phabricator_repos\nSELECT {_PHABRICATOR} FROM phabricator_repos"
        " WHERE deleted_at IS NULL AND id > $1 ORDER BY id LIMIT $2",
        after_id or 0,
        limit,
    )
    return [PhabricatorRepo(**dict(row)) for row in rows]


async def delete_phabricator_repo(conn: asyncpg.Connection, repo_id: int) -> bool:
    status = await conn.execute(
        "-- source: registry/store/site.py:delete_phabricator_repo\n"
        "UPDATE phabricator_repos SET deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL",
        repo_id,
    )
    return bool(status == "UPDATE 1")
