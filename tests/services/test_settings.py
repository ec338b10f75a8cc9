"""The rules of settings, without HTTP: who writes whose settings, the optimistic concurrency of
writes, and the bound on a cascade's size."""

from __future__ import annotations

import asyncio

import asyncpg
import orjson
import pytest

from registry.domain.actor import ANONYMOUS, Actor
from registry.domain.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, Unprocessable
from registry.domain.page import PageRequest
from registry.services import Services
from registry.services.settings import (
    MAX_CASCADE_BYTES,
    CascadeTooLarge,
    CascadeWouldOverflow,
    StaleSettings,
)
from registry.store.settings import Subject
from tests.support.actors import actor_of
from tests.support.factories import make_org, make_user


@pytest.fixture
async def alice(services: Services, db: asyncpg.Connection) -> Actor:
    """alice, signed in, the first user."""
    return await actor_of(services, await make_user(db, "alice"))


@pytest.fixture
async def alices(services: Services, alice: Actor) -> Subject:
    """alice's own settings."""
    return await services.settings.user_subject(alice, "alice")


async def _alice_in_acme_with_org_settings_parsed_as(services: Services, db: asyncpg.Connection, parsed: str) -> Actor:
    """alice, a member of acme, whose settings were written around the service: contents `{}`, kept
    parsed as `parsed`."""
    alice = await make_user(db, "alice")
    org_id = await make_org(db, "acme", [alice])
    await db.execute("INSERT INTO settings (org_id, contents, parsed) VALUES ($1, '{}', $2)", org_id, parsed)
    return await actor_of(services, alice)


async def test_of_two_writers_from_the_same_version_exactly_one_wins(
    services: Services, alice: Actor, alices: Subject
) -> None:
    svc = services.settings
    first = await svc.write(alice, alices, '{"a": 1}', None)
    outcomes = await asyncio.gather(
        svc.write(alice, alices, '{"a": 2}', first.id),
        svc.write(alice, alices, '{"a": 3}', first.id),
        return_exceptions=True,
    )
    won = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    lost = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert len(won) == 1 and len(lost) == 1
    assert isinstance(lost[0], StaleSettings) and isinstance(lost[0], Conflict)
    assert lost[0].extra == {"current_id": won[0].id}
    current = await svc.current(alices)
    assert current is not None and current.id == won[0].id


async def test_a_first_write_names_no_version_and_a_second_first_write_is_stale(
    services: Services, alice: Actor, alices: Subject
) -> None:
    written = await services.settings.write(alice, alices, "{}", None)
    with pytest.raises(StaleSettings) as refused:
        await services.settings.write(alice, alices, "{}", None)
    assert refused.value.extra == {"current_id": written.id}


async def test_contents_are_kept_as_written_and_must_be_jsonc_for_an_object(
    services: Services, alice: Actor, alices: Subject
) -> None:
    written = await services.settings.write(alice, alices, '{"a": 1, // why\n}', None)
    assert written.contents == '{"a": 1, // why\n}' and written.author == "alice"
    for contents in ("[1]", "{broken", "{}\x00"):
        with pytest.raises(Unprocessable):
            await services.settings.write(alice, alices, contents, written.id)


async def test_a_non_member_cannot_write_an_org_s_settings_and_a_member_or_site_admin_can(
    services: Services, db: asyncpg.Connection
) -> None:
    member = await make_user(db, "member")
    stranger = await actor_of(services, await make_user(db, "stranger"))
    admin = await actor_of(services, await make_user(db, "root", site_admin=True))
    await make_org(db, "acme", [member])
    with pytest.raises(Forbidden, match="Only members of acme or a site admin"):
        await services.settings.org_subject(stranger, "acme")
    subject = await services.settings.org_subject(await actor_of(services, member), "acme")
    assert (subject.kind, subject.name) == ("org", "acme")
    assert (await services.settings.org_subject(admin, "acme")).org_id == subject.org_id


async def test_who_reads_and_writes_whose_settings(services: Services, db: asyncpg.Connection, alice: Actor) -> None:
    bob = await actor_of(services, await make_user(db, "bob"))
    admin = await actor_of(services, await make_user(db, "root", site_admin=True))
    with pytest.raises(Unauthorized):
        await services.settings.user_subject(ANONYMOUS, "alice")
    with pytest.raises(Unauthorized):  # anonymous: told to sign in before anything is looked up
        await services.settings.org_subject(ANONYMOUS, "nowhere")
    with pytest.raises(NotFound, match="No organization named nowhere"):
        await services.settings.org_subject(alice, "nowhere")
    with pytest.raises(Forbidden):
        await services.settings.user_subject(bob, "alice")
    assert (await services.settings.user_subject(admin, "alice")).name == "alice"
    services.settings.global_subject(alice, write=False)
    with pytest.raises(Forbidden):
        services.settings.global_subject(alice, write=True)
    services.settings.global_subject(admin, write=True)


async def test_history_is_newest_first_a_page_at_a_time(services: Services, alice: Actor, alices: Subject) -> None:
    last = None
    for n in range(3):
        last = (await services.settings.write(alice, alices, f'{{"n": {n}}}', last)).id
    first = await services.settings.history(alices, PageRequest(2))
    assert [v.contents for v in first.items] == ['{"n": 2}', '{"n": 1}'] and first.next_cursor
    rest = await services.settings.history(alices, PageRequest(2, first.next_cursor))
    assert [v.contents for v in rest.items] == ['{"n": 0}'] and rest.next_cursor is None


async def test_the_cascade_merges_global_then_each_org_then_the_user(
    services: Services, db: asyncpg.Connection
) -> None:
    alice_fixture = await make_user(db, "alice")
    alice = await actor_of(services, alice_fixture)
    admin = await actor_of(services, await make_user(db, "root", site_admin=True))
    await make_org(db, "acme", [alice_fixture])
    await services.settings.write(admin, services.settings.global_subject(admin, write=True), '{"a": 0, "b": 0}', None)
    acme = await services.settings.org_subject(alice, "acme")
    await services.settings.write(alice, acme, '{"b": 1, "o": {"x": 1}}', None)
    own = await services.settings.user_subject(alice, "alice")
    await services.settings.write(alice, own, '{"o": {"y": 2}}', None)
    cascade = await services.settings.cascade(alice)
    assert orjson.loads(cascade.merged) == {"a": 0, "b": 1, "o": {"x": 1, "y": 2}}
    assert [(level.kind, level.name) for level in cascade.levels] == [
        ("global", None),
        ("org", "acme"),
        ("user", "alice"),
    ]


async def test_a_write_that_would_put_a_cascade_past_its_bound_is_refused(
    services: Services, db: asyncpg.Connection
) -> None:
    big = orjson.dumps({"big": "x" * MAX_CASCADE_BYTES}).decode()
    alice = await _alice_in_acme_with_org_settings_parsed_as(services, db, big)
    own = await services.settings.user_subject(alice, "alice")
    with pytest.raises(CascadeWouldOverflow) as refused:
        await services.settings.write(alice, own, '{"a": 1}', None)
    assert isinstance(refused.value, PayloadTooLarge)
    assert refused.value.extra["max_cascade_bytes"] == MAX_CASCADE_BYTES
    assert await services.settings.current(own) is None, "nothing was written"


async def test_a_cascade_past_its_bound_all_the_same_is_refused_at_reading(
    services: Services, db: asyncpg.Connection
) -> None:
    alice = await _alice_in_acme_with_org_settings_parsed_as(services, db, "{}" + " " * MAX_CASCADE_BYTES)
    with pytest.raises(CascadeTooLarge) as refused:
        await services.settings.cascade(alice)
    assert isinstance(refused.value, Conflict) and refused.value.extra["cascade_bytes"] > MAX_CASCADE_BYTES
    with pytest.raises(CascadeTooLarge):
        await services.settings.enabled_extensions(alice)


async def test_the_cascade_needs_a_user(services: Services) -> None:
    with pytest.raises(Unauthorized):
        await services.settings.cascade(ANONYMOUS)


async def test_settings_written_around_the_service_are_parsed_at_first_use_and_kept(
    services: Services, db: asyncpg.Connection
) -> None:
    alice_fixture = await make_user(db, "alice")
    await db.execute("INSERT INTO settings (user_id, contents) VALUES ($1, $2)", alice_fixture.id, "{'a': 1,}")
    cascade = await services.settings.cascade(await actor_of(services, alice_fixture))
    assert orjson.loads(cascade.merged) == {"a": 1}
    assert await db.fetchval("SELECT parsed FROM settings") == '{"a":1}'


async def test_enabled_extensions_are_those_turned_on_and_missing_ones_are_named(
    services: Services, alice: Actor, alices: Subject
) -> None:
    contents = '{"extensions": {"alice/absent": true, "bob/off": false, "not-an-id": true}}'
    await services.settings.write(alice, alices, contents, None)
    enabled = await services.settings.enabled_extensions(alice)
    assert enabled.found == [] and enabled.missing == ["alice/absent", "not-an-id"]
