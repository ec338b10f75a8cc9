"""The catalogue's rules, without HTTP: what a listing shows and in which order, how its pages
continue, and which release an asset request is served."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import asyncpg
import pytest

from registry.domain.errors import BadRequest, NotFound
from registry.domain.page import FOREIGN_CURSOR, PageRequest
from registry.services import Services
from registry.services.catalogue import parse_listing, registry_query
from registry.store import extensions as extension_store
from registry.store.extensions import Extension, ListingFields, ListQuery
from registry.store.publishers import Publisher
from tests.support.factories import UserFixture, make_user


async def _release(db: asyncpg.Connection, extension: Extension, creator: UserFixture, version: str) -> int:
    bundle = f"export const v = '{version}'\n"
    release_id: int = await db.fetchval(
        "INSERT INTO registry_extension_releases (registry_extension_id, creator_user_id, release_version,"
        " release_tag, manifest, bundle, bundle_sha256) VALUES ($1, $2, $3, 'release', '{}', $4, $5) RETURNING id",
        extension.id,
        creator.id,
        version,
        bundle,
        hashlib.sha256(bundle.encode()).digest(),
    )
    return release_id


async def _extension(
    db: asyncpg.Connection,
    owner: UserFixture,
    name: str,
    *,
    title: str | None = None,
    wip: bool = False,
    published: bool = True,
    downloads: int = 0,
) -> Extension:
    """An extension of `owner`, with a release 1.0.0 and its listing unless not `published`."""
    created = await extension_store.create_extension(db, Publisher(owner.username, owner.id, None), name)
    assert created is not None
    if published:
        release_id = await _release(db, created, owner, "1.0.0")
        fields = ListingFields(release_id, "{}", title, None, [], [], wip, datetime.now(UTC))
        await extension_store.update_listing(db, created, fields)
    await db.execute("UPDATE registry_extensions SET downloads = $2 WHERE id = $1", created.id, downloads)
    return created


def _names(extensions: list[Extension]) -> list[str]:
    return [extension.name for extension in extensions]


async def _every_page(services: Services, query: ListQuery, limit: int) -> list[Extension]:
    seen: list[Extension] = []
    page = await services.catalogue.search(query, PageRequest(limit))
    seen += page.items
    while page.next_cursor is not None:
        page = await services.catalogue.search(query, PageRequest(limit, page.next_cursor))
        seen += page.items
    return seen


async def test_a_search_ranks_by_relevance_and_pages_on_with_a_stable_cursor(
    services: Services, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    for name in ("word", "words", "word-count", "crossword-helper", "wordle-solver", "unrelated"):
        await _extension(db, alice, name)
    query = parse_listing({"q": "word"})
    assert query.sort == "relevance"
    whole = (await services.catalogue.search(query, PageRequest(50))).items
    assert "unrelated" not in _names(whole) and len(whole) == 5
    assert whole[0].name == "word"  # the closest match first
    assert _names(await _every_page(services, query, limit=2)) == _names(whole)


@pytest.mark.parametrize("sort", ["name", "updated", "downloads"])
async def test_every_sort_pages_through_every_extension_once(
    services: Services, db: asyncpg.Connection, sort: str
) -> None:
    alice = await make_user(db, "alice")
    for n, name in enumerate(("delta", "Alpha", "charlie", "bravo", "echo")):
        await _extension(db, alice, name, downloads=n % 2)
    query = parse_listing({"sort": sort})
    whole = (await services.catalogue.search(query, PageRequest(50))).items
    assert _names(await _every_page(services, query, limit=2)) == _names(whole)
    if sort == "name":
        assert _names(whole) == ["Alpha", "bravo", "charlie", "delta", "echo"]


async def test_a_cursor_from_another_sort_is_refused_as_foreign(services: Services, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    for name in ("one", "two", "three"):
        await _extension(db, alice, name)
    by_name = await services.catalogue.search(ListQuery(sort="name"), PageRequest(1))
    assert by_name.next_cursor is not None
    with pytest.raises(BadRequest) as refused:
        await services.catalogue.search(ListQuery(sort="downloads"), PageRequest(1, by_name.next_cursor))
    assert refused.value.detail == FOREIGN_CURSOR


async def test_relevance_needs_search_text(services: Services) -> None:
    with pytest.raises(BadRequest):
        await services.catalogue.search(ListQuery(sort="relevance"), PageRequest())
    with pytest.raises(BadRequest):
        parse_listing({"sort": "relevance"})


async def test_works_in_progress_are_hidden_unless_asked_for(services: Services, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await _extension(db, alice, "finished")
    await _extension(db, alice, "sketch", wip=True)
    shown = await services.catalogue.search(parse_listing({}), PageRequest())
    assert _names(shown.items) == ["finished"]
    asked = await services.catalogue.search(parse_listing({"include_wip": "true"}), PageRequest())
    assert _names(asked.items) == ["finished", "sketch"]


async def test_extensions_without_a_release_are_listed_only_to_sourcegraph(
    services: Services, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    await _extension(db, alice, "released")
    await _extension(db, alice, "empty", published=False)
    api = await services.catalogue.search(parse_listing({}), PageRequest())
    assert _names(api.items) == ["released"]
    registry = await services.catalogue.search(registry_query(""), PageRequest())
    assert _names(registry.items) == ["empty", "released"]


async def test_the_featured_extensions_are_the_most_downloaded(services: Services, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    for name, downloads in (("quiet", 1), ("popular", 50), ("known", 10)):
        await _extension(db, alice, name, downloads=downloads)
    assert _names(await services.catalogue.featured()) == ["popular", "known", "quiet"]


async def test_a_yanked_release_is_not_served_by_tag_nor_by_version(services: Services, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    extension = await _extension(db, alice, "word-count")
    newer = await _release(db, extension, alice, "2.0.0")
    served = await services.catalogue.served_release(extension, version=None, tag=None)
    assert served.release.version == "2.0.0" and not served.by_version
    await db.execute("UPDATE registry_extension_releases SET deleted_at = now() WHERE id = $1", newer)
    served = await services.catalogue.served_release(extension, version=None, tag="release")
    assert served.release.version == "1.0.0"
    with pytest.raises(NotFound):
        await services.catalogue.served_release(extension, version="2.0.0", tag=None)
    with pytest.raises(BadRequest):
        await services.catalogue.served_release(extension, version="1.0.0", tag="release")


async def test_an_asset_is_read_once_and_its_downloads_counted_once_per_client(
    services: Services, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    extension = await _extension(db, alice, "word-count")
    served = await services.catalogue.served_release(extension, version="1.0.0", tag=None)
    body = await services.catalogue.asset(served.release, "bundle", "identity")
    assert body.fd is not None and body.read() == b"export const v = '1.0.0'\n"
    body.close()
    (await services.catalogue.asset(served.release, "bundle", "gzip")).close()
    (await services.catalogue.asset(served.release, "bundle", "identity")).close()
    assert services.assets.fetches == 1
    with pytest.raises(NotFound, match="no source map"):
        await services.catalogue.asset(served.release, "source_map", "identity")
    services.catalogue.count_download(served.release, "192.0.2.1")
    services.catalogue.count_download(served.release, "192.0.2.1")
    assert services.downloads.pending == 1


async def test_an_extension_of_a_deleted_publisher_is_found_nowhere(services: Services, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    extension = await _extension(db, alice, "word-count")
    await db.execute("UPDATE users SET deleted_at = now() WHERE id = $1", alice.id)
    with pytest.raises(NotFound, match=r"No extension alice/word-count\."):
        await services.catalogue.extension("alice", "word-count")
    assert await services.catalogue.extension_by_pk(extension.id) is None
    assert (await services.catalogue.search(parse_listing({}), PageRequest())).items == []
    with pytest.raises(NotFound, match=r"No user or organization named alice\."):
        await services.catalogue.publisher("alice")


async def test_a_batch_read_keeps_the_order_asked_and_names_what_is_missing(
    services: Services, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    await _extension(db, alice, "one")
    await _extension(db, alice, "two")
    batch = await services.catalogue.batch(["ALICE/two", "alice/none", "alice/one"])
    assert _names(batch.items) == ["two", "one"]
    assert batch.missing == ["alice/none"]
