"""Settings: JSONC documents for the site, each org and each user, versioned, merged in a cascade.

Every write inserts a new version; the current settings are a subject's newest version. A write
names the version it edited (`last_id`) and is refused (`StaleSettings`, naming the current id)
when that is no longer the newest: writers of one subject serialise on an advisory lock, so of many
writers editing the same version exactly one wins. Contents are kept exactly as written (comments
too) and must parse as a JSON object with comments and trailing commas allowed (JSONC, read by json5).

A user's cascade merges global → each of the user's orgs (by name) → the user's own settings;
its `extensions` key (`{"publisher/name": true|false}`) says which extensions the user enabled.
A cascade holds at most MAX_CASCADE_BYTES of parsed settings: decoding and merging cost time in
proportion (80 orgs of 220 KB each held the event loop 2.9 s per read), so a write that would put
any cascade holding its subject past that is refused (`CascadeWouldOverflow`), a cascade past it
all the same (one joined an org, or two writes raced) is refused at reading (`CascadeTooLarge`),
and one over MERGED_ON_LOOP_BYTES is merged in a worker process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from registry.auth import policy
from registry.cascade import merged_json
from registry.db.database import Database
from registry.domain.actor import Actor
from registry.domain.errors import RETRY_AFTER_SECONDS, Conflict, PayloadTooLarge, ServiceUnavailable, Unprocessable
from registry.domain.page import Page, PageRequest
from registry.domain.record import Record
from registry.jsonc import InvalidSettings, jsonc_to_json, strict_json
from registry.offload import WorkerPool, WorkTimeout
from registry.services import loaders
from registry.store import settings as settings_store
from registry.store.settings import CascadeLevel, EnabledExtension, Subject, Version

MAX_CONTENTS_BYTES = 256 * 1024
MAX_JSON5_BYTES = 64 * 1024  # what JSONC's fast way cannot read goes through json5 (registry.jsonc)
MAX_CASCADE_BYTES = 1024 * 1024  # of parsed settings in a cascade: ~0.2 s to merge in a worker
MERGED_ON_LOOP_BYTES = 32 * 1024  # ~10 ms to merge: not worth a trip to a worker process
EMPTY_CONTENTS = "{}"  # what settings that do not parse merge as
_EXTENSION_ID = re.compile(r"^(?P<publisher>[^/]{1,255})/(?P<name>[^/]{1,128})\Z")


class StaleSettings(Conflict):
    """The version a write edited is no longer the subject's newest."""

    def __init__(self, last_id: int | None, current_id: int | None) -> None:
        super().__init__(
            f"These settings changed since the version you edited ({last_id}); the current version is"
            f" {current_id}. Merge your change into it and send its id as last_id.",
            extra={"current_id": current_id},
        )


class CascadeWouldOverflow(PayloadTooLarge):
    """A write would put a cascade holding its subject over MAX_CASCADE_BYTES."""

    def __init__(self, parsed_bytes: int, largest: int) -> None:
        super().__init__(
            f"These settings ({parsed_bytes} bytes as JSON) would make a settings cascade {largest} bytes long;"
            f" a cascade (global, each org of a user, the user) holds at most {MAX_CASCADE_BYTES} bytes.",
            extra={"cascade_bytes": largest, "max_cascade_bytes": MAX_CASCADE_BYTES},
        )


class CascadeTooLarge(Conflict):
    """A user's cascade is over MAX_CASCADE_BYTES all the same (an org joined, two writes raced)."""

    def __init__(self, total: int) -> None:
        super().__init__(
            f"Your settings cascade holds {total} bytes of settings, over the limit of {MAX_CASCADE_BYTES}:"
            " make your own settings or your orgs' smaller, or leave an org.",
            extra={"cascade_bytes": total, "max_cascade_bytes": MAX_CASCADE_BYTES},
        )


class Cascade(Record):
    """A user's settings merged (JSON text; only one member of them when asked) and its levels, in order."""

    merged: bytes
    levels: list[CascadeLevel]


class EnabledExtensions(Record):
    """What a user's cascade enables: the live extensions found (by id, case-insensitively) and
    the ids enabled that name none."""

    found: list[EnabledExtension]
    missing: list[str]


async def parse_settings(parsers: WorkerPool, text: str, *, max_json5_bytes: int | None) -> str:
    """The settings object in `text` as strict JSON text; InvalidSettings when it is not JSONC for
    a JSON object (see jsonc_to_json for `max_json5_bytes`)."""
    try:
        return strict_json(orjson.loads(text))  # strict JSON, the common case, at C speed
    except orjson.JSONDecodeError:
        pass
    try:
        return await parsers.run(jsonc_to_json, text, max_json5_bytes)
    except WorkTimeout:
        raise InvalidSettings(f"took over {parsers.timeout:g} s to parse") from None


def enabled_ids(extensions: object) -> list[str]:
    """The ids a cascade's `extensions` member turns on (`true`, nothing else), sorted."""
    return sorted(key for key, on in extensions.items() if on is True) if isinstance(extensions, dict) else []


@dataclass(eq=False)
class SettingsService:
    db: Database
    parsers: WorkerPool

    # Subjects: who may read and write whose settings. A `Subject` comes from here, authorized.

    def global_subject(self, actor: Actor, *, write: bool) -> Subject:
        policy.require_global_settings_access(actor, write=write)
        return Subject("global")

    async def org_subject(self, actor: Actor, name: str) -> Subject:
        """Anonymous: 401 before any 404."""
        user = policy.signed_in(actor)
        async with self.db.reading() as conn:
            membership = await loaders.org_membership(conn, name, user)
        policy.require_org_settings_access(actor, membership)
        return Subject("org", membership.org.name, org_id=membership.org.id)

    async def user_subject(self, actor: Actor, username: str) -> Subject:
        policy.signed_in(actor)
        async with self.db.reading() as conn:
            user = await loaders.user_named(conn, username)
        policy.require_user_settings_access(actor, user)
        return Subject("user", user.username, user_id=user.id)

    # Versions.

    async def current(self, subject: Subject) -> Version | None:
        return await self.db.read(settings_store.current_version, subject)

    async def history(self, subject: Subject, page: PageRequest) -> Page[Version]:
        return await self.db.read(settings_store.history, subject, page)

    async def write(self, actor: Actor, subject: Subject, contents: str, last_id: int | None) -> Version:
        """A new version if `last_id` is still the subject's newest (None: it has none yet)."""
        author = policy.signed_in(actor)
        if len(contents.encode()) > MAX_CONTENTS_BYTES:
            raise Unprocessable.at("/contents", f"must be at most {MAX_CONTENTS_BYTES} bytes in UTF-8")
        if "\x00" in contents:
            raise Unprocessable.at("/contents", "must not contain NUL characters")
        try:
            parsed = await parse_settings(self.parsers, contents, max_json5_bytes=MAX_JSON5_BYTES)
        except InvalidSettings as exc:
            raise Unprocessable.at("/contents", f"must be JSONC for a JSON object: it {exc}") from None
        async with self.db.transaction() as conn:
            await settings_store.lock_subject(conn, subject)
            parsed_bytes = len(parsed.encode())
            largest = await settings_store.largest_cascade_bytes(conn, subject, parsed_bytes)
            if largest > MAX_CASCADE_BYTES:
                raise CascadeWouldOverflow(parsed_bytes, largest)
            version = await settings_store.insert_version(conn, subject, contents, parsed, author.id, last_id)
            if version is None:
                current = await settings_store.current_version(conn, subject)
                raise StaleSettings(last_id, current.id if current else None)
        return version

    # The cascade and what it enables.

    async def cascade(self, actor: Actor, member: str | None = None) -> Cascade:
        """The signed-in user's merged settings (only its `member` when that is given) and the
        subjects merged. Each version's parsed form was kept when it was written; one written
        around the API is parsed (off the event loop) at its first use and its parsed form kept,
        `{}` when it does not parse."""
        user = policy.signed_in(actor)
        async with self.db.reading() as conn:
            levels = await settings_store.cascade(conn, user.id, MAX_CASCADE_BYTES)
        total = sum(level.bytes for level in levels)
        if total > MAX_CASCADE_BYTES:
            raise CascadeTooLarge(total)
        parsed: list[str] = []
        for level in levels:
            if level.parsed is not None:
                parsed.append(level.parsed)
            elif level.id is not None and level.contents is not None:
                parsed.append(await self._parse_unparsed(level.id, level.contents))
        return Cascade(await self._merge(parsed, total, member), levels)

    async def enabled_extensions(self, actor: Actor) -> EnabledExtensions:
        """The extensions the user's cascade enables (`"extensions": {"publisher/name": true}`) that
        exist and are live, with their latest release, by id; the others as missing."""
        enabled = enabled_ids(orjson.loads((await self.cascade(actor, "extensions")).merged))
        ids = {key: (match["publisher"], match["name"]) for key in enabled if (match := _EXTENSION_ID.match(key))}
        found: list[EnabledExtension] = []
        if ids:
            async with self.db.reading() as conn:
                found = await settings_store.enabled_extensions(conn, list(ids.values()))
        present = {extension.extension_id.lower() for extension in found}
        return EnabledExtensions(
            sorted(found, key=lambda extension: extension.extension_id.lower()),
            [key for key in enabled if key.lower() not in present],
        )

    async def _merge(self, parsed: list[str], total_bytes: int, member: str | None) -> bytes:
        """registry.cascade.merged_json: here when that is quick, else in a worker process."""
        if total_bytes <= MERGED_ON_LOOP_BYTES:
            return merged_json(parsed, member)
        try:
            return await self.parsers.run(merged_json, parsed, member)
        except WorkTimeout:  # ~0.2 s at the limit: only a machine far too busy gets here
            raise ServiceUnavailable(
                "Merging your settings took too long; try again shortly.", retry_after=RETRY_AFTER_SECONDS
            ) from None

    async def _parse_unparsed(self, version_id: int, contents: str) -> str:
        try:
            parsed = await parse_settings(self.parsers, contents, max_json5_bytes=None)
        except InvalidSettings:
            parsed = EMPTY_CONTENTS
        async with self.db.transaction() as conn:
            await settings_store.keep_parsed(conn, version_id, parsed)
        return parsed
