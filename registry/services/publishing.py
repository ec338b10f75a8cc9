"""Publishing: creating extensions, releasing them, yanking releases, deleting extensions, and
the site admin's release of a retired name.

The checks of a publish are pure functions with no database (registry.services.publish_checks),
which the CLI's `--dry-run` runs too; this module adds what needs the database and the actor.

A versioned release is unique and immutable (an identical re-publish is answered with the
existing release; a version, once used, is never used again, not after a yank, a deletion or a
rename); an unversioned one (Sourcegraph's NULL `release_version`) is a new release every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg
import orjson

from registry.auth import policy
from registry.auth.tokens import Scope
from registry.config import Config
from registry.db.database import Database
from registry.domain.actor import Actor
from registry.domain.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, Unprocessable
from registry.domain.page import Column, CursorCodec, Page, PageRequest
from registry.domain.record import Record
from registry.manifests import ManifestValidator
from registry.offload import WorkerPool, WorkTimeout
from registry.readme import RenderedReadme, readme_text, render_once
from registry.services import loaders
from registry.services.publish_checks import (
    SOURCE_MAP_PARSED_IN_LINE,
    Prepared,
    PublishInput,
    check_publish,
    is_json_object,
    not_a_source_map,
    refuse_oversized,
)
from registry.services.release_files import FileDigests
from registry.sourcegraph import static_path
from registry.store import extensions as extension_store
from registry.store import readmes as readme_store
from registry.store import releases as release_store
from registry.store import retired_names as name_store
from registry.store.extensions import Extension, ListingFields
from registry.store.publishers import Publisher
from registry.store.releases import NewRelease, Release, StoredFiles
from registry.store.retired_names import RetiredName
from registry.versions import by_precedence, latest

_MAX_NAME = 255
# Releases are ordered by SemVer precedence, which SQL cannot sort: the cursor is the last id shown.
_BY_PRECEDENCE = CursorCodec(Column.INT8)


class VersionExists(Conflict):
    """The version is published already, with other content, or was yanked (never reused)."""


class UnknownExtensionNode(Unprocessable):
    """GraphQL's deleteExtension named no extension (its argument is a node id, not a name)."""


class Published(Record):
    """What a publish did: the extension, its release, whether the release is new or an identical
    re-publish of a version, and the warnings it was published despite."""

    extension: Extension
    release: Release
    created: bool
    warnings: list[dict[str, str]]


def _new_release(
    extension: Extension, prepared: Prepared, user_id: int, files: StoredFiles, content: bytes
) -> NewRelease:
    return NewRelease(
        extension_pk=extension.id,
        creator_user_id=user_id,
        version=prepared.version,
        tag=prepared.tag,
        manifest=prepared.manifest.text,
        content_sha256=content,
        **asdict(files),
    )


def _listing(current: Release | None) -> ListingFields:
    """The listing fields of an extension whose latest `release`-tag release is `current`."""
    if current is None:
        return ListingFields(None, None, None, None, [], [], False, None)
    manifest: dict[str, Any] = orjson.loads(current.manifest)
    title = manifest.get("title")
    return ListingFields(
        current.id,
        current.manifest,
        title,
        manifest.get("description"),
        list(manifest.get("categories", [])),
        list(manifest.get("tags", [])),
        manifest.get("wip") is True or str(title or "").startswith(("WIP:", "[WIP]")),
        current.created_at,
    )


async def _refresh_listing(conn: asyncpg.Connection, extension: Extension) -> list[Release]:
    """Point the extension's listing fields at the latest live `release`-tag release. Returns the
    extension's live releases of every tag, read for it: a publish finds its new release among
    them rather than reading it again."""
    releases = await release_store.releases_of(conn, extension.id)
    current = latest([release for release in releases if release.tag.lower() == "release"])
    await extension_store.update_listing(conn, extension, _listing(current))
    return releases


def _is_listed_tag(release: Release) -> bool:
    return release.tag.lower() == "release"  # as releases_of compares tags (citext)


async def _list_new_release(conn: asyncpg.Connection, extension: Extension, release_id: int) -> Release:
    """Point the listing at the latest live `release`-tag release after `release_id` was inserted,
    and return that new release. The latest of the releases with one more is the latest of the one
    the listing names and the new one (`latest` is the maximum of a total order), so only those two
    are read, not every release (which grows with each publish); a listing that names no live
    `release`-tag release (none yet, or one changed by hand) is computed again from all of them."""
    listed_id = extension.latest_release_id
    releases = []
    if listed_id is not None:
        releases = await release_store.live_releases_by_ids(conn, extension.id, [release_id, listed_id])
    if any(release.id == listed_id and _is_listed_tag(release) for release in releases):
        current = latest([release for release in releases if _is_listed_tag(release)])
        await extension_store.update_listing(conn, extension, _listing(current))
    else:
        releases = await _refresh_listing(conn, extension)
    new = next((release for release in releases if release.id == release_id), None)
    if new is None:  # inserted by this very transaction, under a row it holds locked
        raise RuntimeError(f"release {release_id} vanished inside its own transaction")
    return new


def _same_or_conflict(existing: Release, prepared: Prepared, content: bytes, extension: Extension) -> Published:
    if existing.deleted_at is not None:
        raise VersionExists(f"{extension.extension_id}@{prepared.version} was yanked; a version is never reused.")
    if existing.content_sha256 != content or existing.tag != prepared.tag:
        raise VersionExists(f"{extension.extension_id}@{prepared.version} is already published with different content.")
    return Published(extension, existing, created=False, warnings=prepared.warnings)


async def _authorized(conn: asyncpg.Connection, actor: Actor, name: str) -> tuple[Publisher, int]:
    """The publisher `name` and the acting user's id, once the policy allows them to publish for
    it: the publisher and the actor's membership read on one connection (each connection a
    request takes costs a round trip more, to reset it when it is released)."""
    publisher = await loaders.live_publisher(conn, name)
    member = await loaders.is_member(conn, publisher, actor)
    return publisher, policy.require_may_publish(actor, publisher, member=member).id


async def _extension_for(conn: asyncpg.Connection, publisher: Publisher, name: str, *, create: bool) -> Extension:
    extension = await extension_store.extension_by_name(conn, publisher.name, name, lock=True)
    if extension is None and create:
        created = await extension_store.create_extension(conn, publisher, name)
        extension = created or await extension_store.extension_by_name(conn, publisher.name, name, lock=True)
    if extension is None:
        raise NotFound(f"No extension {publisher.name}/{name}; create it first (or use POST /api/publish).")
    return extension


@dataclass(eq=False)
class Publishing:
    """The rules of writing extensions and releases, for the API, GraphQL and the CLI alike."""

    db: Database
    config: Config
    manifests: ManifestValidator
    parsers: WorkerPool

    # --- who may publish ---

    def require_publisher(self, actor: Actor) -> None:
        """401/403 unless the actor's credential may publish at all: checked before a body is read."""
        policy.signed_in(actor, Scope.PUBLISH)

    async def authorize(self, actor: Actor, publisher: Publisher) -> int:
        """The acting user's id, once the policy allows them to publish for `publisher`."""
        async with self.db.reading() as conn:
            member = await loaders.is_member(conn, publisher, actor)
        return policy.require_may_publish(actor, publisher, member=member).id

    async def authorize_publisher(self, actor: Actor, name: str) -> None:
        """404 for an unknown publisher, 401/403 for an actor who may not publish for it: asked
        before the body is read (or, when only the body names the publisher, before it is
        checked), so that nobody else's upload costs decompression, parsing or validation."""
        await self._may_publish_for(actor, name)

    async def _may_publish_for(self, actor: Actor, name: str) -> tuple[Publisher, int]:
        """`_authorized` on a reading connection of its own."""
        async with self.db.reading() as conn:
            return await _authorized(conn, actor, name)

    # --- publishing ---

    def prepare(self, data: PublishInput, *, block_on_warnings: bool = True, parse_large_map: bool = True) -> Prepared:
        """`check_publish` with this server's limits and manifest schema."""
        refuse_oversized(self.config, data.bundle, data.source_map)
        return check_publish(data, self.manifests, block_on_warnings=block_on_warnings, parse_large_map=parse_large_map)

    async def _check_large_source_map(self, source_map: bytes | None) -> None:
        """What `check_publish` leaves to the server: a large source map parsed in a worker process."""
        if source_map is None or len(source_map) <= SOURCE_MAP_PARSED_IN_LINE:
            return
        try:
            if not await self.parsers.run(is_json_object, source_map):
                raise not_a_source_map()
        except WorkTimeout:
            raise PayloadTooLarge("The source map took too long to parse.") from None

    async def publish(
        self,
        actor: Actor,
        data: PublishInput,
        *,
        create: bool,
        public_url: Callable[[], str],
        block_on_warnings: bool = True,
    ) -> Published:
        """Check `data` in full, then release it for `actor` in one transaction (creating the
        extension first when `create`). `public_url` says where clients reach this registry; it
        is asked only when a bundle is stored that must name its source map's address."""
        prepared = self.prepare(data, block_on_warnings=block_on_warnings, parse_large_map=False)
        await self._check_large_source_map(prepared.source_map)
        # The files are digested in threads from here on, while the publisher is loaded, the README
        # rendered and the transaction's first statements run (registry.services.release_files).
        files = FileDigests.start(prepared.bundle, prepared.source_map)
        try:
            return await self._publish_prepared(actor, prepared, files, create=create, public_url=public_url)
        finally:
            files.cancel()

    async def _publish_prepared(
        self, actor: Actor, prepared: Prepared, files: FileDigests, *, create: bool, public_url: Callable[[], str]
    ) -> Published:
        readme = None
        text = readme_text(prepared.manifest.data)
        if text is not None:  # rendered once, off the event loop, for an actor allowed to publish
            await self._may_publish_for(actor, prepared.publisher)
            readme = await render_once(self.parsers, text)
        try:
            return await self.db.write(self._insert, actor, prepared, files, readme, create, public_url)
        except Conflict:
            # A concurrent publish of the same version won the unique index: identical content is
            # an idempotent success, anything else stays a conflict. So does a version published
            # before under this name (deleted, re-created or renamed since: migration 6's record),
            # even when this transaction had created the extension.
            if prepared.version is None:
                raise
            published = await self._published_before(prepared, prepared.version, files)
            if published is None:
                raise
            return published

    async def _insert(
        self,
        conn: asyncpg.Connection,
        actor: Actor,
        prepared: Prepared,
        files: FileDigests,
        readme: RenderedReadme | None,
        create: bool,
        public_url: Callable[[], str],
    ) -> Published:
        """The release inserted, the actor authorized in the same transaction (on the primary: one
        connection for both, where a README's rendering did not have to come between them)."""
        publisher, user_id = await _authorized(conn, actor, prepared.publisher)
        extension = await _extension_for(conn, publisher, prepared.name, create=create)
        slot = await release_store.next_release_id(conn, extension.id, prepared.version)
        if slot.published_id is not None and prepared.version is not None:
            existing = await release_store.release_by_version(conn, extension.id, prepared.version, include_yanked=True)
            if existing is not None:
                content = await files.content_sha256(prepared.manifest.sha256)
                return _same_or_conflict(existing, prepared, content, extension)
        release_id = slot.release_id
        map_url = None
        if prepared.bundle is not None and prepared.source_map is not None:
            map_url = public_url() + static_path(release_id, extension.extension_id, "map")
        content = await files.content_sha256(prepared.manifest.sha256)
        new = _new_release(extension, prepared, user_id, await files.finish(map_url), content)
        await release_store.insert_release(conn, release_id, new)
        if readme is not None:
            await readme_store.insert_readme(conn, release_id, readme)
        release = await _list_new_release(conn, extension, release_id)
        return Published(extension, release, created=True, warnings=prepared.warnings)

    async def _published_before(self, prepared: Prepared, version: str, files: FileDigests) -> Published | None:
        """The release a conflicting publish met, when it is still there to compare with."""
        async with self.db.reading() as conn:
            found = await extension_store.extension_by_name(conn, prepared.publisher, prepared.name)
            if found is None:
                return None
            existing = await release_store.release_by_version(conn, found.id, version, include_yanked=True)
        if existing is None:
            return None
        return _same_or_conflict(existing, prepared, await files.content_sha256(prepared.manifest.sha256), found)

    # --- releases ---

    async def releases(
        self, publisher: str, name: str, page: PageRequest, *, tag: str | None = None
    ) -> tuple[Extension, Page[Release]]:
        """Releases newest first by SemVer precedence (legacy unversioned ones last)."""
        after = _BY_PRECEDENCE.after(page)
        async with self.db.reading() as conn:
            extension = await loaders.live_extension(conn, publisher, name)
            releases = by_precedence(await release_store.releases_of(conn, extension.id, tag=tag))
        if after is not None:
            position = next((n for n, r in enumerate(releases) if r.id == after[0]), None)
            if position is None:
                raise BadRequest("cursor names a release that is gone; start again without it.")
            releases = releases[position + 1 :]
        return extension, _BY_PRECEDENCE.page(releases, page, lambda release: [release.id])

    async def release_by_version(self, publisher: str, name: str, version: str) -> tuple[Extension, Release]:
        """One release by version; a yanked one too (shown with when it was yanked)."""
        async with self.db.reading() as conn:
            extension = await loaders.live_extension(conn, publisher, name)
            release = await release_store.release_by_version(conn, extension.id, version, include_yanked=True)
        if release is None:
            raise NotFound(f"{extension.extension_id} has no version {version}.")
        return extension, release

    async def yank(self, actor: Actor, publisher: str, name: str, version: str) -> None:
        """The release is no longer served or listed, and its version is never used again."""
        async with self.db.reading() as conn:
            extension = await loaders.live_extension(conn, publisher, name)
        await self.authorize(actor, extension.publisher_of())
        async with self.db.transaction() as conn:
            locked = await extension_store.extension_by_name(conn, extension.publisher, extension.name, lock=True)
            release = await release_store.release_by_version(conn, extension.id, version)
            if locked is None or release is None:
                raise NotFound(f"{extension.extension_id} has no live version {version}.")
            await release_store.yank_release(conn, release.id)
            await _refresh_listing(conn, locked)

    # --- extensions ---

    async def create_extension(self, actor: Actor, publisher: str, name: str) -> Extension:
        """A new extension without releases (publishing creates one too, if need be)."""
        self.require_publisher(actor)
        async with self.db.reading() as conn:
            found = await loaders.live_publisher(conn, publisher)
        await self.authorize(actor, found)
        async with self.db.transaction() as conn:
            extension = await extension_store.create_extension(conn, found, name)
        if extension is None:
            raise Conflict(f"{found.name} already has an extension named {name}.")
        return extension

    async def delete_extension(self, actor: Actor, publisher: str, name: str) -> None:
        """Soft delete: the name is free again and its releases are no longer served; its
        published versions stay taken forever (migration 6)."""
        async with self.db.reading() as conn:
            extension = await loaders.live_extension(conn, publisher, name)
        await self._delete(actor, extension)

    async def delete_extension_by_pk(self, actor: Actor, extension_pk: int | None) -> None:
        """GraphQL's deleteExtension, which names the extension by its node's id (`extension_pk`,
        None when the id names none)."""
        self.require_publisher(actor)
        extension = None
        if extension_pk is not None:
            async with self.db.reading() as conn:
                extension = await extension_store.extension_by_pk(conn, extension_pk)
        if extension is None:
            raise UnknownExtensionNode.at("/extension", "names no extension (a RegistryExtension id, as `id` gives it)")
        await self._delete(actor, extension)

    async def _delete(self, actor: Actor, extension: Extension) -> None:
        await self.authorize(actor, extension.publisher_of())
        async with self.db.transaction() as conn:
            if not await extension_store.soft_delete_extension(conn, extension.id):
                raise NotFound(f"No extension {extension.extension_id}.")

    # --- retired names ---

    async def renamed_to(self, name: str) -> str | None:
        """The current name of the live publisher that gave up `name` by a rename (not released)."""
        return await self.db.read(name_store.redirect_target, name)

    async def retired_names(self, actor: Actor, page: PageRequest) -> Page[RetiredName]:
        """Names retired after their publisher, having published, was deleted or renamed (site admins)."""
        policy.require_site_admin(actor)
        return await self.db.read(name_store.list_retired_names, page)

    async def release_retired_name(self, actor: Actor, name: str) -> None:
        """A site admin's release of a retired name: anyone may take it again, and its redirect
        ends. The versions published under it are never released: publishing one again stays a 409."""
        admin = policy.require_site_admin(actor)
        if len(name) > _MAX_NAME:
            raise BadRequest(f"A name is at most {_MAX_NAME} characters.")
        async with self.db.transaction() as conn:
            if not await name_store.release_retired_name(conn, name, admin.id):
                raise NotFound(f"{name} is not a retired name.")
