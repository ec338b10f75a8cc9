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

from registry.assets import AssetCache
from registry.auth.passwords import PasswordHasher
from registry.auth.throttle import RateLimits
from registry.config import Config
from registry.db.database import Database
from registry.downloads import DownloadCounter
from registry.mail import LogMailer, Mailer
from registry.manifests import ManifestValidator
from registry.offload import WorkerPool
from registry.services.publishing import Publishing
from registry.store.package_index import RangeCount
from registry.ttl_cache import TtlCache


@dataclass(frozen=True)
class Services:
    """Every service of a process, and what they share (one worker pool, one mailer, ...)."""

    config: Config
    db: Database
    hasher: PasswordHasher
    mailer: Mailer
    manifests: ManifestValidator
    parsers: WorkerPool  # README rendering, JSONC parsing, large bodies: off the event loop
    assets: AssetCache
    downloads: DownloadCounter
    rate_limits: RateLimits
    dependents_summaries: TtlCache[list[RangeCount]]
    publishing: Publishing


def build_services(config: Config, db: Database, *, mailer: Mailer | None = None) -> Services:
    """Every service, wired to its dependencies: the app factory and the services' own tests call this."""
    manifests = ManifestValidator(config.max_manifest_bytes)
    parsers = WorkerPool(config.parser_processes, config.parser_timeout)
    return Services(
        config=config,
        db=db,
        hasher=PasswordHasher(config.bcrypt_cost),
        mailer=mailer or LogMailer(),
        manifests=manifests,
        parsers=parsers,
        assets=AssetCache(config.bundle_cache_bytes),
        downloads=DownloadCounter(config.download_count_window),
        rate_limits=RateLimits.in_process(
            signups=config.signups_per_address,
            mails=config.mails_per_address,
            surveys=config.surveys_per_address,
            window=config.rate_window,
        ),
        dependents_summaries=TtlCache(config.dependents_cache_seconds),
        publishing=Publishing(db, config, manifests, parsers),
    )
