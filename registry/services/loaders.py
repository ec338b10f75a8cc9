"""Typed loaders: a resource by what names it, or the domain's NotFound with the message clients
have always seen. Services load through these, then ask registry.auth.policy."""

from __future__ import annotations

import asyncpg

from registry.domain.actor import Actor
from registry.domain.errors import NotFound
from registry.store import extensions as extension_store
from registry.store import names as name_store
from registry.store import orgs as org_store
from registry.store.extensions import Extension
from registry.store.publishers import Publisher, publisher_by_name

# --- publishing ---------------------------------------------------------------------------------


class PublisherRenamed(NotFound):
    """What a name names is not here because its publisher was renamed: a read may be pointed at
    `current_name` (the HTTP side answers 308, as code hosts do for renamed repositories); a write
    is refused as not found, so that nothing is written under a name the publisher gave up."""

    def __init__(self, detail: str, *, current_name: str) -> None:
        super().__init__(detail)
        self.current_name = current_name


async def _not_found_under(conn: asyncpg.Connection, publisher: str, detail: str) -> NotFound:
    current = await name_store.redirect_target(conn, publisher)
    return NotFound(detail) if current is None else PublisherRenamed(detail, current_name=current)


async def live_publisher(conn: asyncpg.Connection, name: str) -> Publisher:
    """The live user or org holding `name`; PublisherRenamed for a renamed one's old name."""
    publisher = await publisher_by_name(conn, name)
    if publisher is None:
        raise await _not_found_under(conn, name, f"No user or organization named {name}.")
    return publisher


async def live_extension(conn: asyncpg.Connection, publisher: str, name: str) -> Extension:
    """A live extension by `publisher/name`; PublisherRenamed under a renamed publisher's old name."""
    extension = await extension_store.extension_by_name(conn, publisher, name)
    if extension is None:
        raise await _not_found_under(conn, publisher, f"No extension {publisher}/{name}.")
    return extension


async def is_member(conn: asyncpg.Connection, publisher: Publisher, actor: Actor) -> bool:
    """Whether the acting user belongs to `publisher` (an org; never for a user or anonymous)."""
    if publisher.org_id is None or actor.user is None:
        return False
    return await org_store.is_member(conn, publisher.org_id, actor.user.id)
