"""Request ids, JSON-lines access logs and Prometheus metrics.

Metrics live in a registry owned by the app (not prometheus-client's global one), so several
apps in one process (the test suite) never share or clash over counters.
"""

from __future__ import annotations

import itertools
import re
import secrets
import sys
import time
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


class _RequestIds:
    """Request ids unique across processes and cheap to make: a random 64-bit prefix per process
    and a counter, 32 hex digits like a UUID's (a uuid4 per request costs a system call for
    randomness nobody needs: an id names a request, it guards nothing)."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._next = itertools.count()

    def __call__(self, request: web.Request) -> str:
        supplied = request.headers.get("X-Request-Id")
        if supplied and _CLIENT_REQUEST_ID.match(supplied):
            return supplied
        return f"{self._prefix}{next(self._next) & 0xFFFFFFFFFFFFFFFF:016x}"


def access_log_line(line: str) -> None:
    """One JSON line on whatever `sys.stderr` is now (a test's capture, a daemon's redirect), written
    directly: the logging module's record (caller lookup, thread and process names, a lock and
    a flush per line) bought nothing for a line whose whole content is already formatted, and
    cost as much as the rest of a cached answer. stderr is line-buffered: each line leaves at once."""
    sys.stderr.write(line + "\n")


def observability_middleware(metrics: Metrics, *, access_log: bool) -> Middleware:
    request_id_of = _RequestIds()
    # The metric children by label values, looked up once each (prometheus-client's `labels()`
    # validates and locks on every call); the label values are bounded (route templates).
    counted: dict[tuple[str, str, int], Any] = {}
    timed: dict[tuple[str, str], Any] = {}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = request_id_of(request)
        request[REQUEST_ID] = request_id
        response = await handler(request)  # the problem middleware inside turns errors into answers
        elapsed = time.perf_counter() - started
        if not response.prepared:
            response.headers["X-Request-Id"] = request_id
        route = _route_of(request)
        method, status = request.method, response.status
        counter = counted.get((method, route, status))
        if counter is None:
            counter = counted[(method, route, status)] = metrics.requests.labels(method, route, str(status))
        counter.inc()
        histogram = timed.get((method, route))
        if histogram is None:
            histogram = timed[(method, route)] = metrics.latency.labels(method, route)
        histogram.observe(elapsed)
        if access_log:
            access_log_line(
                orjson.dumps(
                    {
                        "ts": time.time(),
                        "request_id": request_id,
                        "method": method,
                        "path": request.path,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 3),
                        "bytes": response.content_length,
                        "remote": request.remote,
                        "user_agent": request.headers.get("User-Agent"),
                    }
                ).decode()
            )
        return response

    return middleware
