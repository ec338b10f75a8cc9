"""The site's own records: its configuration row, surveys, saved queries, Phabricator repos."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Self

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow, Keyset, Timestamped
from registry.domain.page import Column, CursorCodec, Page, PageRequest

_SQL = queries.load(__file__)


class Site(FromRow):
    site_id: uuid.UUID
    initialized: bool

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        return cls(uuid.UUID(str(row["site_id"])), row["initialized"])


class SchemaState(FromRow):
    """The migration the schema is at; no version before the first migration ran."""

    version: int | None
    dirty: bool


async def site(conn: asyncpg.Connection) -> Site | None:
    return await _SQL.site.one(conn, Site)


async def schema_state(conn: asyncpg.Connection) -> SchemaState:
    return await _SQL.schema_state.one(conn, SchemaState) or SchemaState(None, False)


class SurveyResponse(FromRow):
    id: int
    username: str | None
    email: str | None
    score: int
    reason: str | None
    better: str | None
    created_at: datetime


SURVEYS_NEWEST_FIRST: Keyset[SurveyResponse] = Keyset(
    CursorCodec(Column.INT8), ("before_id",), lambda response: (response.id,)
)


async def insert_survey_response(
    conn: asyncpg.Connection,
    *,
    user_id: int | None,
    email: str | None,
    score: int,
    reason: str | None,
    better: str | None,
) -> int:
    response_id: int = await _SQL.insert_survey_response.fetchval(
        conn, user_id=user_id, email=email, score=score, reason=reason, better=better
    )
    return response_id


async def survey_responses(
    conn: asyncpg.Connection, since: datetime, until: datetime, page: PageRequest
) -> Page[SurveyResponse]:
    """Answers given in [since, until), newest first."""
    return await _SQL.survey_responses_newest_first.page(
        conn, SurveyResponse, SURVEYS_NEWEST_FIRST, page, since=since, until=until
    )


class NetPromoterScore(FromRow):
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
    return await _SQL.net_promoter_score.single(conn, NetPromoterScore, since=since, until=until)


class SavedQuery(FromRow):
    query: str
    last_executed: datetime
    latest_result: datetime
    exec_duration_ns: int


SAVED_QUERIES_BY_TEXT: Keyset[SavedQuery] = Keyset(CursorCodec(Column.TEXT), ("after",), lambda saved: (saved.query,))


async def record_saved_query(conn: asyncpg.Connection, execution: SavedQuery) -> SavedQuery:
    """Upsert by the query text."""
    return await _SQL.record_saved_query.single(
        conn,
        SavedQuery,
        query=execution.query,
        last_executed=execution.last_executed,
        latest_result=execution.latest_result,
        exec_duration_ns=execution.exec_duration_ns,
    )


async def saved_queries(conn: asyncpg.Connection, page: PageRequest) -> Page[SavedQuery]:
    return await _SQL.saved_queries_by_text.page(conn, SavedQuery, SAVED_QUERIES_BY_TEXT, page)


class PhabricatorRepo(Timestamped):
    id: int
    callsign: str
    uri: str
    url: str


PHABRICATOR_REPOS_BY_ID: Keyset[PhabricatorRepo] = Keyset(
    CursorCodec(Column.INT4), ("after_id",), lambda repo: (repo.id,)
)


async def insert_phabricator_repo(
    conn: asyncpg.Connection, callsign: str, uri: str, url: str
) -> PhabricatorRepo | None:
    """Map a callsign and URI to a repository URL; None when the URI is already mapped."""
    return await _SQL.insert_phabricator_repo.one(conn, PhabricatorRepo, callsign=callsign, uri=uri, url=url)


async def phabricator_repos(conn: asyncpg.Connection, page: PageRequest) -> Page[PhabricatorRepo]:
    return await _SQL.phabricator_repos_by_id.page(conn, PhabricatorRepo, PHABRICATOR_REPOS_BY_ID, page)


async def delete_phabricator_repo(conn: asyncpg.Connection, repo_id: int) -> bool:
    """Soft delete; False when there was no live mapping."""
    return await _SQL.delete_phabricator_repo.changed(conn, repo_id=repo_id) == 1
