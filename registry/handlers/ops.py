"""Operations routes: liveness, readiness, metrics and the API description."""

from __future__ import annotations

import asyncio

import asyncpg
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from registry import appkeys
from registry.db.invalidation import ListenerState
from registry.db.migrate import is_current
from registry.db.replicas import ReplicaState
from registry.domain.errors import RETRY_AFTER_SECONDS, ServiceUnavailable
from registry.http import json_response
from registry.problems import problem_response

routes = web.RouteTableDef()

_READINESS_TIMEOUT = 2.0


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is up and its event loop answers; says nothing about the database."""
    return json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Ready to serve: the primary answers and is migrated to the newest version this code knows
    (else 503). "degraded" (still 200: every read still answers, from the primary) when a replica
    is down or lagging, or the cache listener is reconnecting (the caches pass reads through)."""
    pool = request.app[appkeys.POOL]
    migrations = request.app[appkeys.MIGRATIONS]
    try:
        async with asyncio.timeout(_READINESS_TIMEOUT), pool.acquire() as conn:
            migrated = await is_current(conn, migrations)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return _not_ready(request, f"The database is unreachable ({type(exc).__name__}).")
    if not migrated:
        newest = migrations[-1].version if migrations else None
        return _not_ready(request, f"The database is not migrated to version {newest}; run `registry migrate up`.")
    replicas = request.app[appkeys.DATABASE].replicas.statuses()
    listener = request.app.get(appkeys.CACHE_LISTENER)
    listening = listener.state if listener is not None else ListenerState.RECONNECTING
    healthy = listening is ListenerState.LISTENING and all(r["state"] == ReplicaState.STREAMING for r in replicas)
    body = {
        "status": "ready" if healthy else "degraded",
        "schema_version": migrations[-1].version,
        "replicas": replicas,
        "cache_listener": listening.value,
    }
    return json_response(body, headers={"Cache-Control": "no-store"})


def _not_ready(request: web.Request, detail: str) -> web.Response:
    """503 that no cache keeps: readiness is asked again and again."""
    error = ServiceUnavailable(detail, retry_after=RETRY_AFTER_SECONDS)
    return problem_response(request, error, headers={"Cache-Control": "no-store"})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition of this process's counters, latencies and pool usage."""
    body = generate_latest(request.app[appkeys.METRICS].registry)
    response = web.Response(body=body, headers={"Cache-Control": "no-store"})
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of this API (kept in schemas/openapi.json)."""
    return json_response(request.app[appkeys.OPENAPI], headers={"Cache-Control": "public, max-age=300"})
