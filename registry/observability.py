"""Request ids, JSON-lines access logs and Prometheus metrics.

Metrics live in a registry owned by the app (not prometheus-client's global one), so several
apps in one process (the test suite) never share or clash over counters.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import orjson
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from registry.db.database import Database
from registry.db.invalidation import CacheListener, ListenerState
from registry.domain.record import Record
from registry.http import REQUEST_ID

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")
_UNMATCHED_ROUTE = "(unmatched)"


class Metrics(Record):
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram


def create_metrics() -> Metrics:
    registry = CollectorRegistry(auto_describe=True)
    requests = Counter(
        "wharf_http_requests",
        "HTTP requests answered, by method, route template and status.",
        ["method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        "wharf_http_request_duration_seconds",
        "Time from receiving a request to handing back its response, by method and route template.",
        ["method", "route"],
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        registry=registry,
    )
    return Metrics(registry, requests, latency)


class PoolCollector(Collector):
    """Pool usage read at scrape time, so nothing needs updating on the request path."""

    def __init__(self, app: web.Application, pool_key: web.AppKey[asyncpg.Pool]) -> None:
        self._app = app
        self._pool_key = pool_key

    def collect(self) -> Iterator[Metric]:
        pool = self._app.get(self._pool_key)
        if pool is None:
            return
        size, idle = pool.get_size(), pool.get_idle_size()
        for name, doc, value in (
            ("wharf_db_pool_connections", "Connections open in the pool.", size),
            ("wharf_db_pool_connections_in_use", "Pool connections lent to requests.", size - idle),
            ("wharf_db_pool_connections_max", "The pool's upper bound.", pool.get_max_size()),
        ):
            yield GaugeMetricFamily(name, doc, value=value)


class ReplicationCollector(Collector):
    """Each replica's lag and health, the cache listener's state and the invalidations applied,
    read at scrape time. Replicas are labelled `host:port/database`, never by their DSN."""

    def __init__(
        self, app: web.Application, database_key: web.AppKey[Database], listener_key: web.AppKey[CacheListener]
    ) -> None:
        self._app = app
        self._database_key = database_key
        self._listener_key = listener_key

    def collect(self) -> Iterator[Metric]:
        database = self._app[self._database_key]
        lag = GaugeMetricFamily(
            "wharf_replica_lag_seconds",
            "How long ago the primary was where the replica has replayed to (NaN when it does not answer).",
            labels=["replica"],
        )
        up = GaugeMetricFamily("wharf_replica_up", "1 when the replica answers the monitor.", labels=["replica"])
        for replica in database.replicas.replicas:
            seconds = replica.lag_seconds if replica.up and replica.lag_seconds is not None else float("nan")
            lag.add_metric([replica.name], seconds)
            up.add_metric([replica.name], 1.0 if replica.up else 0.0)
        yield lag
        yield up
        invalidations = CounterMetricFamily(
            "wharf_cache_invalidations",
            "Cache invalidations applied by this process, by what changed (reconnect: the listener was lost).",
            labels=["kind"],
        )
        for kind, count in sorted(database.invalidations.counts.items()):
            invalidations.add_metric([kind], count)
        yield invalidations
        listener = self._app.get(self._listener_key)
        listening = listener is not None and listener.state is ListenerState.LISTENING
        yield GaugeMetricFamily(
            "wharf_cache_listener_up", "1 while the cache listener listens for invalidations.", value=float(listening)
        )


def _route_of(request: web.Request) -> str:
    """The route *template* (`/api/users/{username}`), never the raw path: bounded label values."""
    info = request.match_info
    route = getattr(info, "route", None)
    resource = getattr(route, "resource", None)
    if resource is None or (isinstance(info, web.UrlMappingMatchInfo) and info.http_exception is not None):
        return _UNMATCHED_ROUTE
    canonical: str = resource.canonical
    return canonical


def _request_id(request: web.Request) -> str:
    supplied = request.headers.get("X-Request-Id", "")
    return supplied if _CLIENT_REQUEST_ID.match(supplied) else uuid.uuid4().hex


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is now (not the one at creation), so a replaced stderr
    (a test's capture, a daemon's redirect) gets the lines."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def access_logger() -> logging.Logger:
    """The `wharf.access` logger writes bare JSON lines to stderr, one per request."""
    logger = logging.getLogger("wharf.access")
    if not logger.handlers:
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.INFO)
    return logger


def observability_middleware(metrics: Metrics, *, access_log: bool) -> Middleware:
    logger = access_logger() if access_log else None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = _request_id(request)
        request[REQUEST_ID] = request_id
        response = await handler(request)  # the problem middleware inside turns errors into answers
        elapsed = time.perf_counter() - started
        if not response.prepared:
            response.headers["X-Request-Id"] = request_id
        route = _route_of(request)
        metrics.requests.labels(request.method, route, str(response.status)).inc()
        metrics.latency.labels(request.method, route).observe(elapsed)
        if logger is not None:
            logger.info(
                orjson.dumps(
                    {
                        "ts": time.time(),
                        "request_id": request_id,
                        "method": request.method,
                        "path": request.path,
                        "route": route,
                        "status": response.status,
                        "duration_ms": round(elapsed * 1000, 3),
                        "bytes": response.content_length,
                        "remote": request.remote,
                        "user_agent": request.headers.get("User-Agent"),
                    }
                ).decode()
            )
        return response

    return middleware
