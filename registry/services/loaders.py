"""Typed loaders: a resource by its public name, or the domain's NotFound with the message clients
have always seen. Services load what they act on through these, on the connection they hold."""

from __future__ import annotations

import asyncpg

from registry.domain.errors import NotFound
from registry.store import package_index
from registry.store.package_index import Repo

# -- package index -----------------------------------------------------------------------------


async def repo_named(conn: asyncpg.Connection, uri: str) -> Repo:
    repo = await package_index.repo_by_uri(conn, uri)
    if repo is None:
        raise NotFound(f"No repository {uri}.")
    return repo
