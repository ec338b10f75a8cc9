"""The site's rules, without HTTP: the survey rate limit, saved queries (one record per query
text, site-wide), and the certificate cache's lifetime (entries live until deleted; none expires)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from registry.auth.tokens import Scope
from registry.config import Config
from registry.db.database import Database
from registry.db.pool import create_pool
from registry.domain.actor import ANONYMOUS, Actor
from registry.domain.errors import BadRequest, Forbidden, NotFound, TooManyRequests, Unauthorized
from registry.domain.page import PageRequest
from registry.services import Services, build_services
from registry.services.site import SurveyAnswer
from registry.store import users as user_store
from registry.store.site import SavedQuery
from tests.support.factories import make_user

DATA = base64.b64encode(b"-----BEGIN CERTIFICATE-----").decode()


async def _actor(db: asyncpg.Connection, username: str, *, site_admin: bool = False) -> Actor:
    await make_user(db, username, site_admin=site_admin)
    user = await user_store.user_by_username(db, username)
    assert user is not None
    return Actor(user, frozenset({Scope.USER_ALL}))


@pytest.fixture
async def three_surveys_per_address(config: Config) -> AsyncIterator[Services]:
    pool = await create_pool(config.database_url or "", min_size=1, max_size=2)
    built = build_services(replace(config, surveys_per_address=3), Database(pool))
    try:
        yield built
    finally:
        built.parsers.close()
        await pool.close()


async def test_answers_are_limited_per_client_address_signed_in_or_not(
    three_surveys_per_address: Services, db: asyncpg.Connection
) -> None:
    site = three_surveys_per_address.site
    alice = await _actor(db, "alice")
    for actor in (ANONYMOUS, alice, ANONYMOUS):
        await site.answer_survey(actor, "192.0.2.1", SurveyAnswer(score=9))
    with pytest.raises(TooManyRequests) as refused:
        await site.answer_survey(alice, "192.0.2.1", SurveyAnswer(score=9))
    assert refused.value.retry_after is not None and refused.value.retry_after > 0
    await site.answer_survey(ANONYMOUS, "192.0.2.2", SurveyAnswer(score=9))
    assert await db.fetchval("SELECT count(*) FROM survey_responses") == 4


async def test_a_signed_in_answer_is_attributed_to_its_user(services: Services, db: asyncpg.Connection) -> None:
    alice = await _actor(db, "alice")
    admin = await _actor(db, "root", site_admin=True)
    await services.site.answer_survey(alice, "192.0.2.1", SurveyAnswer(score=10, reason="fast"))
    await services.site.answer_survey(ANONYMOUS, "192.0.2.1", SurveyAnswer(score=2, email="a@example.com"))
    now = datetime.now(UTC)
    report = await services.site.survey_report(admin, now - timedelta(days=1), now + timedelta(days=1), PageRequest())
    assert [(answer.score, answer.username) for answer in report.answers.items] == [(2, None), (10, "alice")]
    assert (report.net_promoter_score.score, report.net_promoter_score.responses) == (0.0, 2)
    with pytest.raises(Forbidden):
        await services.site.survey_report(alice, now - timedelta(days=1), now, PageRequest())


async def test_saved_queries_are_one_record_per_query_text_for_the_whole_site(
    services: Services, db: asyncpg.Connection
) -> None:
    root = await _actor(db, "root", site_admin=True)
    other_admin = await _actor(db, "ops", site_admin=True)
    now = datetime.now(UTC)
    await services.site.record_saved_query(root, SavedQuery("repo:x TODO", now, now, 1200))
    later = SavedQuery("repo:x TODO", now + timedelta(minutes=5), now, 900)
    assert await services.site.record_saved_query(other_admin, later) == later
    await services.site.record_saved_query(other_admin, SavedQuery("lang:go", now, now, 5))

    for reader in (root, other_admin):
        listed = await services.site.saved_queries(reader, PageRequest())
        assert [(saved.query, saved.exec_duration_ns) for saved in listed.items] == [
            ("lang:go", 5),
            ("repo:x TODO", 900),
        ]


@pytest.mark.parametrize(("signed_in", "refusal"), [(False, Unauthorized), (True, Forbidden)])
async def test_only_site_admins_record_and_read_saved_queries(
    services: Services, db: asyncpg.Connection, signed_in: bool, refusal: type[Exception]
) -> None:
    actor = await _actor(db, "alice") if signed_in else ANONYMOUS
    now = datetime.now(UTC)
    with pytest.raises(refusal):
        await services.site.record_saved_query(actor, SavedQuery("q", now, now, 1))
    with pytest.raises(refusal):
        await services.site.saved_queries(actor, PageRequest())
    assert await db.fetchval("SELECT count(*) FROM saved_queries") == 0


async def test_a_cache_entry_does_not_expire_with_age(services: Services, db: asyncpg.Connection) -> None:
    admin = await _actor(db, "root", site_admin=True)
    await services.site.put_cache_entry(admin, "example.com", DATA)
    await db.execute("UPDATE cert_cache SET created_at = now() - interval '10 years', updated_at = created_at")
    entry = await services.site.cache_entry(admin, "example.com")
    assert entry.b64data == DATA
    assert [listed.key for listed in (await services.site.cache_entries(admin, PageRequest())).items] == ["example.com"]


async def test_a_deleted_cache_entry_is_gone_until_put_again_and_then_starts_afresh(
    services: Services, db: asyncpg.Connection
) -> None:
    admin = await _actor(db, "root", site_admin=True)
    first = await services.site.put_cache_entry(admin, "example.com", DATA)
    await services.site.delete_cache_entry(admin, "example.com")
    await services.site.delete_cache_entry(admin, "example.com")  # absent: not an error
    with pytest.raises(NotFound, match=r"No cache entry example\.com"):
        await services.site.cache_entry(admin, "example.com")
    assert (await services.site.cache_entries(admin, PageRequest())).items == []

    revived = await services.site.put_cache_entry(admin, "example.com", base64.b64encode(b"renewed").decode())
    assert revived.created_at > first.created_at, "a revived key is a new entry"
    assert base64.b64decode((await services.site.cache_entry(admin, "example.com")).b64data) == b"renewed"


async def test_replacing_a_live_cache_entry_keeps_its_creation_time(services: Services, db: asyncpg.Connection) -> None:
    admin = await _actor(db, "root", site_admin=True)
    first = await services.site.put_cache_entry(admin, "example.com", DATA)
    replaced = await services.site.put_cache_entry(admin, "example.com", base64.b64encode(b"rotated").decode())
    assert replaced.created_at == first.created_at and replaced.updated_at >= first.updated_at


async def test_wharfs_own_cache_entries_are_not_for_site_admins(services: Services, db: asyncpg.Connection) -> None:
    admin = await _actor(db, "root", site_admin=True)
    await services.licensing.signing_key()  # generates wharf:license-signing-key
    assert (await services.site.cache_entries(admin, PageRequest())).items == []
    for attempt in (
        services.site.cache_entry(admin, "wharf:license-signing-key"),
        services.site.put_cache_entry(admin, "wharf:anything", DATA),
        services.site.delete_cache_entry(admin, "wharf:license-signing-key"),
    ):
        with pytest.raises(NotFound):
            await attempt
    assert await db.fetchval("SELECT count(*) FROM cert_cache WHERE deleted_at IS NULL") == 1


async def test_cache_keys_and_data_are_checked(services: Services, db: asyncpg.Connection) -> None:
    admin = await _actor(db, "root", site_admin=True)
    with pytest.raises(BadRequest, match="at most 512"):
        await services.site.put_cache_entry(admin, "k" * 513, DATA)
    with pytest.raises(BadRequest, match="base64"):
        await services.site.put_cache_entry(admin, "example.com", "%%%")
    with pytest.raises(Forbidden):
        await services.site.put_cache_entry(await _actor(db, "alice"), "example.com", DATA)
    assert await db.fetchval("SELECT count(*) FROM cert_cache") == 0
