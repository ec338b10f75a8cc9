"""Everything stored on the application, typed (aiohttp's `web.AppKey`)."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web
from graphql import GraphQLSchema

from registry.asset_cache import AssetCache
from registry.auth.authentication import Authenticator
from registry.auth.throttle import RateLimits
from registry.config import Config
from registry.db.database import Database
from registry.db.invalidation import CacheListener
from registry.db.migrate import Migration
from registry.download_counter import DownloadCounter
from registry.mail import Mailer
from registry.manifests import ManifestValidator
from registry.observability import Metrics
from registry.offload import WorkerPool
from registry.response_cache import ResponseCache
from registry.services import Services
from registry.validation import RequestSchemas

CONFIG = web.AppKey("config", Config)
POOL = web.AppKey("pool", asyncpg.Pool)
DATABASE = web.AppKey("database", Database)
CACHE_LISTENER = web.AppKey("cache_listener", CacheListener)  # opened with the pool
SERVICES = web.AppKey("services", Services)
METRICS = web.AppKey("metrics", Metrics)
MIGRATIONS = web.AppKey("migrations", list[Migration])
OPENAPI = web.AppKey("openapi", dict[str, Any])
AUTH = web.AppKey("auth", Authenticator)
RATE_LIMITS = web.AppKey("rate_limits", RateLimits)
SCHEMAS = web.AppKey("schemas", RequestSchemas)
MAILER = web.AppKey("mailer", Mailer)
MANIFESTS = web.AppKey("manifests", ManifestValidator)
ASSETS = web.AppKey("assets", AssetCache)
DOWNLOADS = web.AppKey("downloads", DownloadCounter)
PARSERS = web.AppKey("parsers", WorkerPool)  # README rendering, JSONC parsing: off the event loop
RESPONSES = web.AppKey("responses", ResponseCache)  # serialized answers of the hot read routes
GRAPHQL = web.AppKey("graphql", GraphQLSchema)  # Sourcegraph's extension-registry GraphQL API
