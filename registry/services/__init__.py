"""The rules of the registry, one module per domain, pure of HTTP.

A service takes typed inputs and the acting `Actor`, loads what it acts on through typed loaders
(which raise the domain's NotFound), asks registry.auth.policy whether the actor may, and owns its
transaction through `Database`; it calls stores, which talk SQL. It raises domain errors
(registry.domain.errors), never builds a response. The JSON API, the web pages, the GraphQL
endpoint and the CLI call the same functions. `Services` is built once per process, in the app
factory, with what each service depends on.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.config import Config
from registry.db.database import Database


@dataclass(frozen=True)
class Services:
    db: Database


def build_services(config: Config, db: Database) -> Services:
    """Every service, wired to its dependencies; the app factory and the services' own tests call this."""
    return Services(db=db)
