"""The app factory: the one place where the application is assembled."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Handler

from registry import appkeys, graphql_api, handlers
from registry import web as web_pages
from registry.assets import AssetCache
from registry.auth.actor import Authenticator, actor_middleware
from registry.auth.passwords import PasswordHasher
from registry.auth.throttle import FailureThrottle, RateLimits
from registry.client_address import client_address_middleware
from registry.config import Config, ConfigError
from registry.db.database import Database
from registry.db.lifecycle import bring_up, keep_bringing_up, open_pool
from registry.db.migrate import load_migrations
from registry.domain.errors import PayloadTooLarge, RequestTimeout
from registry.downloads import DownloadCounter
from registry.errors import problem_middleware
from registry.mail import LogMailer
from registry.manifests import ManifestValidator
from registry.observability import PoolCollector, create_metrics, observability_middleware
from registry.offload import WorkerPool
from registry.openapi import load_openapi
from registry.resources import migrations_dir, schemas_dir
from registry.services import build_services
from registry.sourcegraph import identify_registry_response
from registry.ttl_cache import TtlCache
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
    app[appkeys.POOL] = pool
    app[appkeys.DATABASE].attach(pool)
    waiting = None
    if not (answered and await bring_up(pool, app[appkeys.MIGRATIONS], migrate=migrate)):
        waiting = asyncio.create_task(keep_bringing_up(pool, app[appkeys.MIGRATIONS], migrate=migrate))
    async with app[appkeys.DOWNLOADS].flushing(pool, every=config.downloads_flush_seconds):
        yield
    if waiting is not None:
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
    await pool.close()


async def _stop_parsers(app: web.Application) -> None:
    app[appkeys.PARSERS].close()


@web.middleware
async def _refuse_oversized_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a declared Content-Length over the largest body any route takes (a publish) before
    reading a byte of it. Each route then reads against its own, smaller limit
    (registry.handlers.bodies.read_body), and bodies without a length are cut off as they are read.
    """
    limit = request.app[appkeys.CONFIG].max_publish_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"The request body is {request.content_length} bytes; the limit is {limit}.")
    return await handler(request)


@web.middleware
async def _body_deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give a client `body_timeout` seconds to send the whole body: a body dribbled slowly
    (slowloris) would otherwise hold a handler, and maybe a database connection, for ever.

    Only the receiving is bounded, not the handler's own work: when the deadline passes with the
    body incomplete, the body stream fails with 408, which surfaces wherever the handler reads it,
    and the connection is closed after the answer.
    """
    if request.content.is_eof():
        return await handler(request)
    timeout = request.app[appkeys.CONFIG].body_timeout
    expired = False

    def expire() -> None:
        nonlocal expired
        if not request.content.is_eof():
            expired = True
            request.content.set_exception(
                RequestTimeout(f"The request body was not received within {timeout:g} seconds.")
            )

    deadline = asyncio.get_running_loop().call_later(timeout, expire)
    try:
        response = await handler(request)
    finally:
        deadline.cancel()
    if expired:
        response.force_close()
    return response


async def _neutral_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """`Server: wharf`, not aiohttp's default naming its and Python's versions (which tells a
    scanner which advisories apply)."""
    response.headers["Server"] = SERVER_NAME


def create_app(config: Config, *, migrate: bool = False) -> web.Application:
    """Build the application for `config`, whose `database_url` must already be resolved;
    `migrate`: apply pending migrations once the database answers (`registry serve` when it did
    not answer at start)."""
    if config.database_url is None:
        raise ConfigError("create_app needs a database URL (the CLI starts the embedded server first)")
    metrics = create_metrics()
    database = Database()
    authenticator = Authenticator(
        PasswordHasher(config.bcrypt_cost),
        per_user=FailureThrottle(config.auth_failures_per_user, config.auth_failure_window),
        per_address=FailureThrottle(config.auth_failures_per_address, config.auth_failure_window),
    )
    app = web.Application(
        client_max_size=config.max_publish_bytes,
        # Request bodies are inflated by whoever reads them, bounded (registry.inflation), never by
        # aiohttp, which inflates even a body nobody reads when it drains the connection.
        handler_args={"auto_decompress": False},
        middlewares=[
            client_address_middleware(config.trusted_proxies),  # first: the access log sees the client too
            observability_middleware(metrics, access_log=config.access_log),
            _body_deadline,
            problem_middleware,
            web_pages.html_not_found_middleware,
            _refuse_oversized_bodies,
            actor_middleware(authenticator, database),
        ],
    )
    app[appkeys.CONFIG] = config
    app[appkeys.DATABASE] = database
    app[appkeys.METRICS] = metrics
    app[appkeys.MIGRATIONS] = load_migrations(migrations_dir())
    app[appkeys.OPENAPI] = load_openapi(schemas_dir())
    app[appkeys.SCHEMAS] = RequestSchemas(app[appkeys.OPENAPI])
    app[appkeys.MAILER] = LogMailer()
    app[appkeys.MANIFESTS] = ManifestValidator(config.max_manifest_bytes)
    app[appkeys.ASSETS] = AssetCache(config.bundle_cache_bytes)
    app[appkeys.DOWNLOADS] = DownloadCounter(config.download_count_window)
    app[appkeys.DEPENDENTS_SUMMARIES] = TtlCache(config.dependents_cache_seconds)
    app[appkeys.PARSERS] = WorkerPool(config.parser_processes, config.parser_timeout)
    app[appkeys.AUTH] = authenticator
    app[appkeys.RATE_LIMITS] = RateLimits.in_process(
        signups=config.signups_per_address,
        mails=config.mails_per_address,
        surveys=config.surveys_per_address,
        window=config.rate_window,
    )
    app[appkeys.SERVICES] = build_services(config, app[appkeys.DATABASE])
    web_pages.setup(app)  # templates and static files of the HTML pages
    app.on_response_prepare.append(identify_registry_response)
    app[appkeys.GRAPHQL] = graphql_api.build()
    metrics.registry.register(PoolCollector(app, appkeys.POOL))
    app.cleanup_ctx.append(functools.partial(_database, migrate=migrate))
    app.on_response_prepare.append(_neutral_server_header)
    app.on_cleanup.append(_stop_parsers)
    for module in handlers.modules():
        app.add_routes(module.routes)
    return app
