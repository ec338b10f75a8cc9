"""The site itself: its identity, Net Promoter surveys, saved queries' executions, and the tables
only site admins keep (the certificate cache, Phabricator repository mappings)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from registry.auth import policy
from registry.auth.throttle import RateLimits
from registry.db.database import Database
from registry.domain.actor import Actor
from registry.domain.errors import BadRequest, Conflict, NotFound, or_raise
from registry.domain.page import Page, PageRequest
from registry.domain.record import Record
from registry.store import cert_cache as cache_store
from registry.store import site as site_store
from registry.store.cert_cache import RESERVED_PREFIX, CacheEntry
from registry.store.site import NetPromoterScore, PhabricatorRepo, SavedQuery, SchemaState, Site, SurveyResponse
from registry.validation import INT4_MAX

MAX_CACHE_KEY = 512


class PhabricatorUriTaken(Conflict):
    """A URI maps to one Phabricator repository at a time."""


class SiteState(Record):
    """The site's identity; `schema` only for a site admin."""

    site: Site
    schema: SchemaState | None


class SurveyAnswer(Record):
    score: int
    email: str | None = None
    reason: str | None = None
    better: str | None = None


class SurveyReport(Record):
    """The answers of a period, a page of them, and the period's Net Promoter Score."""

    since: datetime
    until: datetime
    net_promoter_score: NetPromoterScore
    answers: Page[SurveyResponse]


def _cache_key(key: str) -> str:
    if len(key) > MAX_CACHE_KEY:
        raise BadRequest(f"A cache key is at most {MAX_CACHE_KEY} characters.")
    if key.startswith(RESERVED_PREFIX):
        raise NotFound(f"No cache entry {key}.")  # Wharf's own entries (signing keys) are not for HTTP
    return key


@dataclass(eq=False)
class SiteService:
    db: Database
    rate_limits: RateLimits

    async def state(self, actor: Actor) -> SiteState:
        """The site id and whether its first user exists; site admins also see the schema version."""
        async with self.db.reading() as conn:
            site = await site_store.site(conn)
            schema = await site_store.schema_state(conn) if policy.is_site_admin(actor) else None
        if site is None:
            raise NotFound("The site is not configured yet.")
        return SiteState(site, schema)

    async def answer_survey(self, actor: Actor, client: str | None, answer: SurveyAnswer) -> int:
        """Anyone may answer: signed-in answers are attributed to their user. Answers are limited per
        client address (WHARF_SURVEYS_PER_ADDRESS), signed in or not."""
        await self.rate_limits.survey_answer(client)
        return await self.db.write(
            site_store.insert_survey_response,
            user_id=actor.user.id if actor.user is not None else None,
            email=answer.email,
            score=answer.score,
            reason=answer.reason,
            better=answer.better,
        )

    async def survey_report(self, actor: Actor, since: datetime, until: datetime, page: PageRequest) -> SurveyReport:
        """Answers in [since, until), newest first, with the period's Net Promoter Score."""
        policy.require_site_admin(actor)
        async with self.db.reading() as conn:
            answers = await site_store.survey_responses(conn, since, until, page)
            score = await site_store.net_promoter_score(conn, since, until)
        return SurveyReport(since, until, score, answers)

    async def record_saved_query(self, actor: Actor, execution: SavedQuery) -> SavedQuery:
        """A saved query's latest execution, upserted by its text (site admins: the jobs that run
        saved searches)."""
        policy.require_site_admin(actor)
        return await self.db.write(site_store.record_saved_query, execution)

    async def saved_queries(self, actor: Actor, page: PageRequest) -> Page[SavedQuery]:
        policy.require_site_admin(actor)
        return await self.db.read(site_store.saved_queries, page)

    async def cache_entries(self, actor: Actor, page: PageRequest) -> Page[CacheEntry]:
        """Live entries without their data, and never Wharf's own."""
        policy.require_site_admin(actor)
        return await self.db.read(cache_store.list_keys, page)

    async def cache_entry(self, actor: Actor, key: str) -> CacheEntry:
        policy.require_site_admin(actor)
        entry = await self.db.read(cache_store.get_entry, _cache_key(key))
        return or_raise(entry, NotFound(f"No cache entry {key}."))

    async def put_cache_entry(self, actor: Actor, key: str, b64data: str) -> CacheEntry:
        """Store base64 data under the key, replacing it or reviving a deleted key."""
        policy.require_site_admin(actor)
        _cache_key(key)
        try:
            base64.b64decode(b64data, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("data must be base64.") from None
        return await self.db.write(cache_store.put_entry, key, b64data)

    async def delete_cache_entry(self, actor: Actor, key: str) -> None:
        """Soft delete; deleting an absent key is not an error (autocert semantics)."""
        policy.require_site_admin(actor)
        async with self.db.transaction() as conn:
            await cache_store.delete_entry(conn, _cache_key(key))

    async def add_phabricator_repo(self, actor: Actor, callsign: str, uri: str, url: str) -> PhabricatorRepo:
        policy.require_site_admin(actor)
        repo = await self.db.write(site_store.insert_phabricator_repo, callsign, uri, url)
        return or_raise(repo, PhabricatorUriTaken(f"{uri} is already mapped to a Phabricator repository."))

    async def phabricator_repos(self, actor: Actor, page: PageRequest) -> Page[PhabricatorRepo]:
        policy.require_site_admin(actor)
        return await self.db.read(site_store.phabricator_repos, page)

    async def delete_phabricator_repo(self, actor: Actor, repo_id: int) -> None:
        """Soft delete; a second deletion finds nothing."""
        policy.require_site_admin(actor)
        async with self.db.transaction() as conn:
            if repo_id > INT4_MAX or not await site_store.delete_phabricator_repo(conn, repo_id):
                raise NotFound(f"No Phabricator repository {repo_id}.")
