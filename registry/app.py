"""The app factory: the one place where the application is assembled."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from registry import appkeys, graphql_api, handlers, pages
from registry.auth.authentication import Authenticator, actor_middleware
from registry.auth.throttle import FailureThrottle
from registry.config import Config, ConfigError
from registry.db.database import Database
from registry.db.invalidation import CacheListener
from registry.db.lifecycle import bring_up, keep_bringing_up, open_pool
from registry.db.migrate import load_migrations
from registry.db.replicas import ReplicaSet
from registry.middlewares import (
    body_deadline,
    client_address_middleware,
    identify_registry_response,
    read_your_writes,
    refuse_oversized_bodies,
    report_write_position,
)
from registry.observability import PoolCollector, ReplicationCollector, create_metrics, observability_middleware
from registry.openapi import load_openapi
from registry.problems import problem_middleware
from registry.resources import migrations_dir, schemas_dir
from registry.response_cache import ResponseCache
from registry.services import build_services
from registry.validation import RequestSchemas

log = logging.getLogger("wharf.app")

SERVER_NAME = "wharf"


async def _database(app: web.Application, *, migrate: bool = False) -> AsyncIterator[None]:
    """One pool per process, opened at startup and closed at shutdown (cleanup_ctx). The server
    starts even when the database does not answer (registry.db.lifecycle): it is brought up to
    date, and migrated when `migrate`, in the background as soon as it does."""
    config = app[appkeys.CONFIG]
    assert config.database_url is not None  # checked by create_app
    pool, answered = await open_pool(config, config.database_url)
    database = app[appkeys.DATABASE]
    app[appkeys.POOL] = pool
    database.attach(pool)
    waiting = None
    if not (answered and await bring_up(pool, app[appkeys.MIGRATIONS], migrate=migrate)):
        waiting = asyncio.create_task(keep_bringing_up(pool, app[appkeys.MIGRATIONS], migrate=migrate))
    replicas = await ReplicaSet.open(
        config.database_read_urls,
        max_lag=config.replica_max_lag,
        max_size=config.pool_max_size,
        db_timeout=config.db_timeout,
    )
    database.attach_replicas(replicas)
    replicas.start(pool)
    listener = CacheListener(config.database_url, database.invalidations, replicas, connect_timeout=config.db_timeout)
    app[appkeys.CACHE_LISTENER] = listener
    # Serving before the first LISTEN would cache what nobody would invalidate (the caches pass
    # reads through until then); so wait for it, unless the database is away.
    await listener.start(wait=min(config.db_timeout, 5.0) if answered else 0.0)
    async with app[appkeys.DOWNLOADS].flushing(pool, every=config.downloads_flush_seconds):
        yield
    await listener.close()
    await replicas.close()
    if waiting is not None:
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
    await pool.close()


async def _stop_parsers(app: web.Application) -> None:
    app[appkeys.PARSERS].close()


async def _close_assets(app: web.Application) -> None:
    await app[appkeys.ASSETS].close()


async def _finish_headers(request: web.Request, response: web.StreamResponse) -> None:
    """What every response's headers get as they leave, in one signal receiver (each is awaited
    per response): `Server: wharf`, not aiohttp's default naming its and Python's versions (which
    tells a scanner which advisories apply); the registry API's media type; the write position."""
    response.headers["Server"] = SERVER_NAME
    identify_registry_response(request, response)
    report_write_position(request, response)


@functools.cache
def _api_contract(directory: Path) -> tuple[dict[str, Any], RequestSchemas]:
    """The OpenAPI document and its compiled request schemas, read once per process: they ship
    with the code, and every app a process builds (a test suite builds thousands) shares them.
    Shared, so never mutated: handlers serialize the document, nothing writes to it."""
    openapi = load_openapi(directory)
    return openapi, RequestSchemas(openapi)


def create_app(config: Config, *, migrate: bool = False) -> web.Application:
    """Build the application for `config`, whose `database_url` must already be resolved;
    `migrate`: apply pending migrations once the database answers (`registry serve` when it did
    not answer at start)."""
    if config.database_url is None:
        raise ConfigError("create_app needs a database URL (the CLI starts the embedded server first)")
    metrics = create_metrics()
    services = build_services(config, Database())
    authenticator = Authenticator(
        services.hasher,
        services.rate_limits.windows,
        per_user=FailureThrottle("sign-ins-per-user", config.auth_failures_per_user, config.auth_failure_window),
        per_address=FailureThrottle(
            "failures-per-address", config.auth_failures_per_address, config.auth_failure_window
        ),
    )
    app = web.Application(
        client_max_size=config.max_publish_bytes,
        # Request bodies are inflated by whoever reads them, bounded (registry.inflation), never by
        # aiohttp, which inflates even a body nobody reads when it drains the connection.
        handler_args={"auto_decompress": False},
        middlewares=[
            # first: the access log sees the client too; none when no proxy is trusted (a layer
            # every request would pass through for nothing)
            *([client_address_middleware(config.trusted_proxies)] if config.trusted_proxies else []),
            observability_middleware(metrics, access_log=config.access_log),
            read_your_writes,  # outside the problem middleware: a write that then failed still reports
            body_deadline,
            problem_middleware,
            pages.html_not_found_middleware,
            refuse_oversized_bodies,
            actor_middleware(authenticator, services.db),
        ],
    )
    app[appkeys.CONFIG] = config
    app[appkeys.SERVICES] = services
    app[appkeys.DATABASE] = services.db
    app[appkeys.METRICS] = metrics
    app[appkeys.MIGRATIONS] = load_migrations(migrations_dir())
    app[appkeys.OPENAPI], app[appkeys.SCHEMAS] = _api_contract(schemas_dir())
    # what handlers not yet moved onto the services reach directly
    app[appkeys.MAILER] = services.mailer
    app[appkeys.MANIFESTS] = services.manifests
    app[appkeys.ASSETS] = services.assets
    app[appkeys.DOWNLOADS] = services.downloads
    app[appkeys.PARSERS] = services.parsers
    app[appkeys.AUTH] = authenticator
    app[appkeys.RATE_LIMITS] = services.rate_limits
    # Entries live one download-count flush at most: the counts they carry are never more stale.
    app[appkeys.RESPONSES] = ResponseCache(config.downloads_flush_seconds, config.response_cache_bytes)
    services.db.invalidations.register(app[appkeys.RESPONSES])
    pages.setup(app)  # templates and static files of the HTML pages
    app[appkeys.GRAPHQL] = graphql_api.build()
    metrics.registry.register(PoolCollector(app, appkeys.POOL))
    metrics.registry.register(ReplicationCollector(app, appkeys.DATABASE, appkeys.CACHE_LISTENER))
    app.cleanup_ctx.append(functools.partial(_database, migrate=migrate))
    app.on_response_prepare.append(_finish_headers)
    app.on_cleanup.append(_stop_parsers)
    app.on_cleanup.append(_close_assets)
    for module in handlers.modules():
        app.add_routes(module.routes)
    return app
