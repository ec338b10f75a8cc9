"""The catalogue: finding extensions, reading them, and serving their bundles.

Everything that reads extensions goes through here: the JSON API, the web pages, Sourcegraph's
registry API and its GraphQL queries. Reads of an extension see only live extensions of live
publishers; a listing shows published extensions unless asked for those without a release
(Sourcegraph listed them) and hides works in progress unless asked.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from registry import sourcegraph
from registry.asset_cache import AssetBody, AssetCache
from registry.db.database import Database
from registry.domain.errors import BadRequest, NotFound
from registry.domain.page import Page, PageRequest
from registry.domain.record import Record
from registry.download_counter import DownloadCounter
from registry.offload import WorkerPool
from registry.readme import RenderedReadme, readme_text, render_once
from registry.services import loaders
from registry.store import downloads as download_store
from registry.store import extensions as extension_store
from registry.store import orgs as org_store
from registry.store import readmes as readme_store
from registry.store import releases as release_store
from registry.store import retired_names as name_store
from registry.store import users as user_store
from registry.store.downloads import DailyDownloads
from registry.store.extensions import SORTS, Extension, ListQuery
from registry.store.publishers import Publisher, publisher_by_name
from registry.store.releases import Release
from registry.ttl_cache import TtlCache
from registry.versions import by_precedence, latest

MAX_QUERY_LENGTH = 256  # of a listing's search text
MAX_REGISTRY_QUERY_LENGTH = 512  # of a Sourcegraph registry query, filters included
MAX_LISTED = 1000  # Sourcegraph's list had no paging; a registry answers this many at most
SERVED_CACHE_SECONDS = 300.0  # coherence comes from invalidation; this only bounds a bug's reach
SERVED_CACHE_ENTRIES = 10_000
FEATURED = 10  # the most downloaded extensions with a release, Wharf's answer to "featured"
MAX_HISTORY_DAYS = 366
_TRUE, _FALSE = ("true", "1"), ("false", "0")
_BAD_SORT = "sort must be name, updated or downloads (or relevance, with q)."


def parse_listing(params: Mapping[str, str]) -> ListQuery:
    """A listing as the JSON API and the pages ask for it: `q` (a ranked substring search),
    `publisher`, `category`, `tag`, `include_wip`, `sort` (relevance by default with `q`)."""
    text = params.get("q", "").strip() or None
    if text is not None and len(text) > MAX_QUERY_LENGTH:
        raise BadRequest(f"q must be at most {MAX_QUERY_LENGTH} characters.")
    sort = params.get("sort", "relevance" if text else "name")
    _check_sort(sort, text)
    include_wip = params.get("include_wip", "false").lower()
    if include_wip not in _TRUE + _FALSE:
        raise BadRequest("include_wip must be true or false.")
    return ListQuery(
        text=text,
        publisher=params.get("publisher") or None,
        category=params.get("category") or None,
        tag=params.get("tag") or None,
        include_wip=include_wip in _TRUE,
        sort=sort,
    )


def registry_query(q: str) -> ListQuery:
    """A Sourcegraph registry query (`q`, or GraphQL's `query`) as a listing: every live
    extension, those without a release and works in progress included, as Sourcegraph listed them."""
    if len(q) > MAX_REGISTRY_QUERY_LENGTH:
        raise BadRequest(f"The query must be at most {MAX_REGISTRY_QUERY_LENGTH} characters.")
    parsed = sourcegraph.parse_query(q)
    return ListQuery(
        text=parsed.text,
        category=parsed.category,
        tag=parsed.tag,
        include_wip=True,
        include_unpublished=True,
        sort="relevance" if parsed.text else "name",
    )


def _check_sort(sort: str, text: str | None) -> None:
    if sort not in SORTS or (sort == "relevance" and text is None):
        raise BadRequest(_BAD_SORT)


class Batch(Record):
    """A batch read: the extensions found, in the order asked, and the ids of those not found."""

    items: list[Extension]
    missing: list[str]


class DownloadHistory(Record):
    extension: Extension
    days: list[DailyDownloads]


class ExtensionDetails(Record):
    """What an extension's page shows: the listing, its latest manifest and README, every live
    release (by precedence), and its downloads per day up to `today`."""

    extension: Extension
    manifest: dict[str, Any]
    readme: RenderedReadme | None
    releases: list[Release]
    downloads: list[DailyDownloads]
    today: date


class Account(Record):
    """A publisher as Sourcegraph names it: a User or an Org, by id."""

    kind: str  # User | Org
    id: int
    handle: str
    display_name: str | None


class ServedRelease(Record):
    """The release an asset request names, and whether by version (immutable) or by tag (moving)."""

    release: Release
    by_version: bool


def _served_tags(key: Hashable, served: ServedRelease) -> Iterable[str]:
    """What a cached resolution was read from: the extension (its releases, its name, its
    publisher's fate are all announced under it) and the publisher's name in the path."""
    yield f"extension:{served.release.registry_extension_id}"
    if isinstance(key, tuple) and key[0] == "name":
        yield f"publisher:{key[1]}"


def served_releases_cache() -> TtlCache[ServedRelease]:
    """Asset requests resolved to the release they serve, kept until a publish, yank, delete,
    rename or name rule announces a change (migration 10), on every node."""
    return TtlCache(SERVED_CACHE_SECONDS, max_entries=SERVED_CACHE_ENTRIES, tags=_served_tags)


def asset_digest(release: Release, kind: str) -> bytes:
    """The sha256 of a release's bundle or source map (`kind`); NotFound when it has none."""
    digest = release.bundle_sha256 if kind == "bundle" else release.source_map_sha256
    if digest is None or (kind == "source_map" and not release.has_source_map):
        raise NotFound("This release has no source map." if kind == "source_map" else "This release has no bundle.")
    return digest


def asset_etag(release: Release, kind: str) -> str:
    """The strong ETag of a release's bundle or source map (`kind`); NotFound when it has none."""
    return f'"{asset_digest(release, kind).hex()[:40]}"'


@dataclass(eq=False)
class Catalogue:
    db: Database
    assets: AssetCache
    downloads: DownloadCounter
    parsers: WorkerPool
    served: TtlCache[ServedRelease]

    async def search(self, query: ListQuery, page: PageRequest, *, for_cache: bool = False) -> Page[Extension]:
        """A page of `query`'s extensions, in its sort's order; a cursor of another sort is refused.
        `for_cache`: the page will be kept by a coherent cache (registry.db.replicas)."""
        _check_sort(query.sort, query.text)
        read = self.db.read_for_cache if for_cache else self.db.read
        return await read(extension_store.list_extensions, query, page)

    async def featured(self, *, for_cache: bool = False) -> list[Extension]:
        """The most downloaded published extensions."""
        return (await self.search(ListQuery(sort="downloads"), PageRequest(FEATURED), for_cache=for_cache)).items

    async def extension(self, publisher: str, name: str) -> Extension:
        return await self.db.read(loaders.live_extension, publisher, name)

    async def cached_extension(self, publisher: str, name: str) -> Extension:
        """`extension`, read for a coherent cache: from a replica only when it has replayed every
        change this node was told of, so that what is kept is not older than what was dropped."""
        return await self.db.read_for_cache(loaders.live_extension, publisher, name)

    async def extension_by_uuid(self, text: str) -> Extension:
        try:
            extension_uuid = uuid.UUID(text)
        except ValueError:
            raise NotFound("No extension with that UUID.") from None
        async with self.db.reading() as conn:
            extension = await extension_store.extension_by_uuid(conn, extension_uuid)
        if extension is None:
            raise NotFound("No extension with that UUID.")
        return extension

    async def extension_by_pk(self, extension_pk: int) -> Extension | None:
        return await self.db.read(extension_store.extension_by_pk, extension_pk)

    async def extension_by_id(self, publisher: str, name: str) -> Extension | None:
        """By id, an id under a renamed publisher's old name meaning the extension under its new one."""
        async with self.db.reading() as conn:
            extension = await extension_store.extension_by_name(conn, publisher, name)
            if extension is None and (renamed := await name_store.redirect_target(conn, publisher)) is not None:
                extension = await extension_store.extension_by_name(conn, renamed, name)
        return extension

    async def batch(self, ids: list[str]) -> Batch:
        """Many extensions by `publisher/name` id (case-insensitively) in one read."""
        wanted = [(publisher, name) for publisher, _, name in (i.partition("/") for i in ids)]
        async with self.db.reading() as conn:
            found = await extension_store.extensions_by_names(conn, wanted)
        by_id = {extension.extension_id.lower(): extension for extension in found}
        return Batch([by_id[i.lower()] for i in ids if i.lower() in by_id], [i for i in ids if i.lower() not in by_id])

    async def download_history(self, extension: Extension, days: int) -> DownloadHistory:
        """Bundle downloads per day over the last `days` (today included)."""
        since = datetime.now(UTC).date() - timedelta(days=days - 1)
        async with self.db.reading() as conn:
            return DownloadHistory(extension, await download_store.daily_downloads(conn, extension.id, since))

    async def details(self, extension: Extension, days: int) -> ExtensionDetails:
        manifest: dict[str, Any] = orjson.loads(extension.manifest) if extension.manifest else {}
        today = datetime.now(UTC).date()
        async with self.db.reading() as conn:
            releases = by_precedence(await release_store.releases_of(conn, extension.id))
            series = await download_store.daily_downloads(conn, extension.id, today - timedelta(days=days - 1))
        readme = await self._readme(extension, manifest)
        return ExtensionDetails(extension, manifest, readme, releases, series, today)

    async def _readme(self, extension: Extension, manifest: dict[str, Any]) -> RenderedReadme | None:
        """The latest release's README as rendered at publish. A release published before READMEs
        were kept is rendered now, off the event loop (registry.readme.render_once), and kept."""
        text = readme_text(manifest)
        if text is None or extension.latest_release_id is None:
            return None
        async with self.db.reading() as conn:
            kept = await readme_store.readme_of(conn, extension.latest_release_id)
        if kept is not None:
            return kept
        rendered = await render_once(self.parsers, text)
        async with self.db.transaction() as conn:
            await readme_store.insert_readme(conn, extension.latest_release_id, rendered)
        return rendered

    async def publisher(self, name: str) -> Publisher:
        return await self.db.read(loaders.live_publisher, name)

    async def account(self, kind: str, account_id: int) -> Account | None:
        """A live user (`kind` User) or org (Org) by id, as Sourcegraph's nodes name them."""
        async with self.db.reading() as conn:
            if kind == "User":
                user = await user_store.user_by_id(conn, account_id)
                return Account("User", user.id, user.username, user.display_name) if user else None
            org = await org_store.org_by_id(conn, account_id)
            return Account("Org", org.id, org.name, org.display_name) if org else None

    async def publisher_account(self, name: str) -> Account | None:
        async with self.db.reading() as conn:
            publisher = await publisher_by_name(conn, name)
        if publisher is None:
            return None
        if publisher.user_id is not None:
            return await self.account("User", publisher.user_id)
        return await self.account("Org", publisher.org_id) if publisher.org_id is not None else None

    async def is_member(self, org_id: int, user_id: int) -> bool:
        return await self.db.read(org_store.is_member, org_id, user_id)

    async def served_asset(self, publisher: str, name: str, *, version: str | None, tag: str | None) -> ServedRelease:
        """The live release an asset request by name serves (see `served_release`), from the cache
        when warm: a warm asset request needs no query to know what to serve. What is cached
        leaves out the release's manifest, which serving never reads."""
        _check_selector(version, tag)
        selector = ("version", version) if version is not None else ("tag", tag or "release")
        key = ("name", publisher.lower(), name.lower(), *selector)

        async def load() -> ServedRelease:
            async with self.db.reading(for_cache=True) as conn:
                extension = await loaders.live_extension(conn, publisher, name)
                served = await _served(conn, extension, version, tag)
            return ServedRelease(replace(served.release, manifest=""), served.by_version)

        return await self.served.get(key, load)

    async def served_release(self, extension: Extension, *, version: str | None, tag: str | None) -> ServedRelease:
        """The live release an asset request names: by version, or the latest of a tag ("release"
        by default). A yanked release is served by neither."""
        _check_selector(version, tag)
        async with self.db.reading() as conn:
            return await _served(conn, extension, version, tag)

    async def static_release(self, release_id: int) -> Release:
        """A live release of a live extension by id (Sourcegraph's static asset URLs name it),
        cached like `served_asset`."""

        async def load() -> ServedRelease:
            async with self.db.reading(for_cache=True) as conn:
                release = await release_store.release_by_id(conn, release_id)
            if release is None:
                raise NotFound("No such extension asset.")
            return ServedRelease(replace(release, manifest=""), by_version=True)

        return (await self.served.get(("id", release_id), load)).release

    async def asset(self, release: Release, kind: str, encoding: str) -> AssetBody:
        """A release's bundle or source map in `encoding`, from the host's asset cache: an open,
        verified file to send (PostgreSQL read once per cold asset, however many ask at once).
        The caller owns it and closes it."""
        digest = asset_digest(release, kind)
        size = release.bundle_size if kind == "bundle" else release.source_map_size

        async def fetch() -> str | None:
            async with self.db.reading() as conn:
                return await release_store.asset_of(conn, release.id, kind)

        body = await self.assets.open(digest, encoding, size, fetch)
        if body is None:
            raise NotFound("This release's asset is gone.")
        return body

    def count_download(self, release: Release, client: str | None) -> None:
        """A bundle was served to `client` (an address): counted once per client per window."""
        self.downloads.count(release.id, client)


def _check_selector(version: str | None, tag: str | None) -> None:
    if version is not None and tag is not None:
        raise BadRequest("Give version or tag, not both.")


async def _served(
    conn: asyncpg.Connection, extension: Extension, version: str | None, tag: str | None
) -> ServedRelease:
    if version is not None:
        release = await release_store.release_by_version(conn, extension.id, version)
        if release is None:
            raise NotFound(f"{extension.extension_id} has no live version {version}.")
        return ServedRelease(release, by_version=True)
    release = latest(await release_store.releases_of(conn, extension.id, tag=tag or "release"))
    if release is None:
        raise NotFound(f"{extension.extension_id} has no live release tagged {tag or 'release'}.")
    return ServedRelease(release, by_version=False)
