"""The rules of publishing, asked of the service itself: no HTTP, a real database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from registry.auth.tokens import Scope
from registry.client import publish as client_publish
from registry.domain.actor import ANONYMOUS, Actor
from registry.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    PublisherRenamed,
    Unauthorized,
    Unprocessable,
)
from registry.services import Services, publish_checks, publishing
from registry.services.publish_checks import PublishInput
from registry.services.publishing import Published, VersionExists
from registry.store import users as user_store
from tests.support.factories import make_org, make_user
from tests.support.registry import SOURCE_MAP, bundle_for, manifest

PUBLIC_URL = "https://wharf.example.com"


def _public_url() -> str:
    return PUBLIC_URL


def release(extension_id: str = "alice/wc", version: str | None = "1.0.0", **fields: Any) -> PublishInput:
    values: dict[str, Any] = {
        "extension_id": extension_id,
        "manifest": manifest(),
        "bundle": bundle_for(version or "unversioned").encode(),
        "source_map": SOURCE_MAP.encode(),
        "version": version,
        "tag": "release",
        "force": False,
        **fields,
    }
    return PublishInput(**values)


async def actor_for(services: Services, username: str, scopes: Iterable[str] = (Scope.USER_ALL,)) -> Actor:
    async with services.db.reading() as conn:
        user = await user_store.user_by_username(conn, username)
    assert user is not None
    return Actor(user, frozenset(scopes))


async def publish(services: Services, actor: Actor, data: PublishInput, *, create: bool = True) -> Published:
    return await services.publishing.publish(actor, data, create=create, public_url=_public_url)


@pytest.fixture
async def alice(services: Services, db: asyncpg.Connection) -> Actor:
    """alice, signed in with a user:all token, who publishes under her own name."""
    await make_user(db, "alice")
    return await actor_for(services, "alice")


async def test_a_first_publish_creates_the_extension_and_names_the_source_map_at_the_public_url(
    services: Services, db: asyncpg.Connection, alice: Actor
) -> None:
    published = await publish(services, alice, release())
    assert (published.created, published.release.version, published.extension.extension_id) == (
        True,
        "1.0.0",
        "alice/wc",
    )
    bundle = await db.fetchval("SELECT bundle FROM registry_extension_releases")
    assert f"//# sourceMappingURL={PUBLIC_URL}/" in bundle
    assert await db.fetchval("SELECT latest_release_id FROM registry_extensions") == published.release.id


async def test_an_identical_republish_is_the_same_release_and_other_content_is_refused(
    services: Services, alice: Actor
) -> None:
    first = await publish(services, alice, release())
    again = await publish(services, alice, release())
    assert (again.created, again.release.id) == (False, first.release.id)
    with pytest.raises(VersionExists, match="already published with different content"):
        await publish(services, alice, release(bundle=b"export const other = 1;\n"))


async def test_a_used_version_is_refused_even_after_a_yank(services: Services, alice: Actor) -> None:
    await publish(services, alice, release(version="1.0.0"))
    await publish(services, alice, release(version="1.1.0"))
    await services.publishing.yank(alice, "alice", "wc", "1.1.0")
    with pytest.raises(VersionExists, match="was yanked; a version is never reused"):
        await publish(services, alice, release(version="1.1.0"))
    extension, shown = await services.publishing.release_by_version("alice", "wc", "1.1.0")
    assert shown.deleted_at is not None, "a yanked release is still shown, as yanked"
    assert extension.latest_version == "1.0.0", "the listing falls back to the latest live release"


async def test_a_used_version_is_refused_even_after_the_extension_is_deleted_and_created_again(
    services: Services, alice: Actor
) -> None:
    await publish(services, alice, release())
    await services.publishing.delete_extension(alice, "alice", "wc")
    with pytest.raises(Conflict, match="a published version is never reused"):
        await publish(services, alice, release(bundle=b"export const other = 1;\n"))


async def test_a_release_is_refused_for_a_publisher_the_actor_may_not_publish_for(
    services: Services, db: asyncpg.Connection
) -> None:
    await make_user(db, "alice")
    await make_user(db, "bob")
    bob = await actor_for(services, "bob")
    with pytest.raises(Forbidden, match=r"^You may not publish for alice\.$"):
        await publish(services, bob, release("alice/wc"))
    with pytest.raises(Unauthorized):
        await publish(services, ANONYMOUS, release("alice/wc"))
    with pytest.raises(NotFound, match="No user or organization named nobody"):
        await publish(services, bob, release("nobody/wc"))
    assert await db.fetchval("SELECT count(*) FROM registry_extensions") == 0


async def test_org_members_publish_for_the_org_and_a_sudo_only_token_publishes_nothing(
    services: Services, db: asyncpg.Connection
) -> None:
    alice_row = await make_user(db, "alice")
    await make_user(db, "bob")
    await make_org(db, "acme", [alice_row])
    alice, bob = await actor_for(services, "alice"), await actor_for(services, "bob")
    assert (await publish(services, alice, release("acme/tool"))).created
    with pytest.raises(Forbidden, match="You may not publish for acme"):
        await services.publishing.yank(bob, "acme", "tool", "1.0.0")
    sudo_only = await actor_for(services, "alice", [Scope.SUDO])
    with pytest.raises(Forbidden, match="do not include registry:publish"):
        await publish(services, sudo_only, release("acme/tool", "1.1.0"))
    publish_only = await actor_for(services, "alice", [Scope.PUBLISH])
    assert (await publish(services, publish_only, release("acme/tool", "1.1.0"))).created


async def test_a_release_of_a_missing_extension_needs_create(services: Services, alice: Actor) -> None:
    with pytest.raises(NotFound, match="create it first"):
        await publish(services, alice, release(), create=False)
    await services.publishing.create_extension(alice, "alice", "wc")
    assert (await publish(services, alice, release(), create=False)).created


async def test_unversioned_releases_are_new_each_time(services: Services, alice: Actor) -> None:
    first = await publish(services, alice, release(version=None))
    second = await publish(services, alice, release(version=None))
    assert first.created and second.created and first.release.id != second.release.id


_LISTED_VERSION = (
    "SELECT r.release_version::text FROM registry_extensions e"
    " JOIN registry_extension_releases r ON r.id = e.latest_release_id"
)


async def test_the_listing_follows_the_latest_stable_release_tag_version_whatever_the_order_of_publishes(
    services: Services, db: asyncpg.Connection, alice: Actor
) -> None:
    """A publish reads only the release the listing names and the new one (not every release), so
    the listing must come out as a reading of all of them would have it."""
    steps = [
        ("1.0.0", "release", "1.0.0"),
        ("0.9.0", "release", "1.0.0"),  # older: the listing stays
        ("2.0.0-beta.1", "release", "1.0.0"),  # a pre-release never outranks a stable version
        ("3.0.0", "beta", "1.0.0"),  # another tag is not listed
        ("1.2.0", "release", "1.2.0"),
    ]
    for version, tag, listed in steps:
        published = await publish(services, alice, release(version=version, tag=tag, force=True))
        assert published.created and published.release.version == version
        assert await db.fetchval(_LISTED_VERSION) == listed, version
    # A listing changed by hand to name a release it may not (another tag): computed again from all.
    await db.execute(
        "UPDATE registry_extensions SET latest_release_id ="
        " (SELECT id FROM registry_extension_releases WHERE release_version = '3.0.0')"
    )
    await publish(services, alice, release(version="1.0.1"))
    assert await db.fetchval(_LISTED_VERSION) == "1.2.0"


async def test_concurrent_publishes_of_one_version_have_one_winner(
    services: Services, db: asyncpg.Connection, alice: Actor
) -> None:
    attempts = [release(bundle=f"export const n = {n};\n".encode()) for n in range(12)]
    outcomes = await asyncio.gather(*(publish(services, alice, data) for data in attempts), return_exceptions=True)
    winners = [o for o in outcomes if isinstance(o, Published)]
    losers = [o for o in outcomes if isinstance(o, VersionExists)]
    assert (len(winners), len(losers)) == (1, 11), outcomes
    assert winners[0].created
    assert await db.fetchval("SELECT count(*) FROM registry_extension_releases") == 1


async def test_concurrent_identical_publishes_all_succeed_with_one_release(services: Services, alice: Actor) -> None:
    outcomes = await asyncio.gather(*(publish(services, alice, release("alice/new")) for _ in range(8)))
    assert sorted(o.created for o in outcomes) == [False] * 7 + [True]
    assert len({o.release.id for o in outcomes}) == 1


async def test_a_renamed_publishers_old_name_is_a_signal_to_follow_and_a_write_under_it_is_not_found(
    services: Services, db: asyncpg.Connection
) -> None:
    user = await make_user(db, "carol")
    carol = await actor_for(services, "carol")
    await publish(services, carol, release("carol/wc"))
    async with db.transaction():  # a rename as the accounts API makes it: the user and its name
        await db.execute("UPDATE users SET username = 'carla' WHERE id = $1", user.id)
        await db.execute("UPDATE names SET name = 'carla' WHERE user_id = $1", user.id)
    with pytest.raises(PublisherRenamed) as renamed:
        await services.publishing.release_by_version("carol", "wc", "1.0.0")
    assert renamed.value.current_name == "carla"
    assert renamed.value.detail == "No extension carol/wc."
    with pytest.raises(NotFound):
        await services.publishing.delete_extension(carol, "carol", "wc")


# --- the CLI's dry run and the server check a publish with the same function ---------------------


def test_the_dry_run_checks_and_the_servers_checks_are_the_same_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert publishing.check_publish is publish_checks.check_publish  # what Publishing.prepare calls
    called: list[PublishInput] = []
    real = publish_checks.check_publish

    def spy(data: PublishInput, validator: Any) -> Any:
        called.append(data)
        return real(data, validator)

    monkeypatch.setattr(publish_checks, "check_publish", spy)
    client_publish.check_locally(_package(tmp_path))  # imports it when it runs: the same function
    assert [data.extension_id for data in called] == ["alice/wc"]


def _package(tmp_path: Path, **changes: Any) -> client_publish.Package:
    fields: dict[str, Any] = {
        "extension_id": "alice/wc",
        "manifest": manifest(version="1.0.0"),
        "manifest_path": tmp_path / "package.json",
        "bundle": bundle_for("1.0.0").encode(),
        "bundle_path": tmp_path / "extension.js",
        "source_map": SOURCE_MAP.encode(),
        "source_map_path": tmp_path / "extension.js.map",
        **changes,
    }
    return client_publish.Package(**fields)


@pytest.mark.parametrize(
    "changes",
    [
        {"extension_id": "no-slash"},
        {"extension_id": "a/b/c"},
        {"manifest": manifest(version="1.0")},
        {"manifest": manifest(version=1)},
        {"manifest": manifest(version="1.0.0"), "version": "1.0.1"},
        {"manifest": {"title": "no activation events"}},
        {"tag": "Not A Tag"},
        {"bundle": b"a\x00b"},
        {"bundle": b"\xff\xfe"},
        {"source_map": b"not json"},
        {"source_map": b"[1]"},
        {"source_map": None},  # a warning, which blocks unless forced
        {"manifest": {"activationEvents": ["*"]}, "force": True},  # warnings, forced: no error
    ],
)
async def test_a_dry_run_refuses_exactly_what_the_server_refuses(
    services: Services, tmp_path: Path, changes: dict[str, Any]
) -> None:
    package = _package(tmp_path, **changes)
    server_input = PublishInput(
        package.extension_id,
        package.manifest_text,
        package.bundle,
        package.source_map,
        package.version,
        package.tag,
        package.force,
    )
    outcomes: list[tuple[str, Any]] = []
    for check in (lambda: client_publish.check_locally(package), lambda: services.publishing.prepare(server_input)):
        try:
            outcomes.append(("warnings", _warnings(check())))
        except DomainError as error:
            outcomes.append((type(error).__name__, (error.detail, error.errors)))
    assert outcomes[0] == outcomes[1]
    assert changes.get("force") or outcomes[0][0] == Unprocessable.__name__


def _warnings(result: Any) -> Any:
    return result if isinstance(result, list) else result.warnings
