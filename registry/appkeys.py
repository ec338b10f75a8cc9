"""Everything stored on the application, typed (aiohttp's `web.AppKey`)."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from registry.config import Config
from registry.db.migrate import Migration
from registry.observability import Metrics

CONFIG = web.AppKey("config", Config)
POOL = web.AppKey("pool", asyncpg.Pool)
METRICS = web.AppKey("metrics", Metrics)
MIGRATIONS = web.AppKey("migrations", list[Migration])
OPENAPI = web.AppKey("openapi", dict[str, Any])
