"""Operations routes and the behaviour every route shares: problems, ids, limits, metrics."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry import appkeys
from registry.config import Config
from registry.handlers.bodies import read_body
from tests.conftest import AppFactory, ClientWith

Client = TestClient[web.Request, web.Application]


def _assert_problem(response_json: dict[str, object], status: int, slug: str) -> None:
    assert response_json["status"] == status
    assert response_json["type"] == f"urn:wharf:problem:{slug}"
    assert isinstance(response_json["title"], str) and isinstance(response_json["detail"], str)


async def test_healthz_answers_without_the_database(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_readyz_reports_the_schema_version(client: Client) -> None:
    response = await client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {
        "status": "ready",
        "schema_version": client.app[appkeys.MIGRATIONS][-1].version,
        "replicas": [],
        "cache_listener": "listening",
    }


async def test_readyz_is_503_with_retry_after_on_an_unmigrated_database(
    make_client: AppFactory, empty_db_url: str
) -> None:
    client = await make_client(Config(database_url=empty_db_url, access_log=False))
    response = await client.get("/readyz")
    assert response.status == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"] == "5"
    _assert_problem(await response.json(), 503, "service-unavailable")


async def test_an_unknown_route_is_a_404_problem(client: Client) -> None:
    response = await client.get("/api/no/such/thing")
    assert response.status == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    body = await response.json()
    _assert_problem(body, 404, "not-found")
    assert body["instance"] == "/api/no/such/thing"
    assert body["request_id"] == response.headers["X-Request-Id"]


async def test_a_wrong_method_is_a_405_problem_with_allow(client: Client) -> None:
    response = await client.delete("/healthz")
    assert response.status == 405
    assert "GET" in response.headers["Allow"]
    _assert_problem(await response.json(), 405, "method-not-allowed")


async def _echo_length(request: web.Request) -> web.Response:
    """Reads as every Wharf handler does: against the ordinary body limit."""
    return web.json_response({"length": len(await read_body(request, request.app[appkeys.CONFIG].max_body_bytes))})


async def _aiohttp_read(request: web.Request) -> web.Response:
    """Reads with aiohttp's own `request.read()`, bounded by the app's client_max_size."""
    return web.json_response({"length": len(await request.read())})


async def _explode(request: web.Request) -> web.Response:
    raise RuntimeError("secret internals")


def _with_test_routes(app: web.Application) -> None:
    app.router.add_post("/test/echo", _echo_length)
    app.router.add_post("/test/aiohttp-read", _aiohttp_read)
    app.router.add_get("/test/explode", _explode)


@pytest.fixture
async def small_limit_client(client_with: ClientWith) -> Client:
    client = await client_with(
        adjust=_with_test_routes,
        max_body_bytes=2048,
        max_bundle_bytes=1024,
        max_source_map_bytes=1024,
        max_manifest_bytes=1024,
    )
    assert client.app[appkeys.CONFIG].max_publish_bytes == 70656
    return client


async def test_a_body_within_the_limit_is_read(small_limit_client: Client) -> None:
    response = await small_limit_client.post("/test/echo", data=b"x" * 2048)
    assert (response.status, await response.json()) == (200, {"length": 2048})


async def test_a_declared_oversized_body_is_refused_before_reading(small_limit_client: Client) -> None:
    response = await small_limit_client.post("/test/echo", data=b"x" * 2049)
    assert response.status == 413
    body = await response.json()
    _assert_problem(body, 413, "payload-too-large")
    assert "limit is 2048" in body["detail"]


def _chunks(total: int) -> AsyncIterator[bytes]:
    async def generate() -> AsyncIterator[bytes]:
        for _ in range(total // 1000):
            yield b"y" * 1000

    return generate()


async def test_an_oversized_chunked_body_is_cut_off_while_read(small_limit_client: Client) -> None:
    response = await small_limit_client.post("/test/echo", data=_chunks(10_000))
    assert response.status == 413
    _assert_problem(await response.json(), 413, "payload-too-large")


async def test_aiohttps_own_body_limit_answers_a_problem_too(small_limit_client: Client) -> None:
    response = await small_limit_client.post("/test/aiohttp-read", data=_chunks(100_000))
    assert response.status == 413
    _assert_problem(await response.json(), 413, "payload-too-large")


async def test_bodies_over_the_largest_limit_are_refused_on_any_route(small_limit_client: Client) -> None:
    response = await small_limit_client.post("/api/anything", data=b"z" * 80_000)
    assert response.status == 413


async def test_an_unexpected_error_is_a_500_problem_that_leaks_nothing(small_limit_client: Client) -> None:
    response = await small_limit_client.get("/test/explode")
    assert response.status == 500
    body = await response.json()
    _assert_problem(body, 500, "internal-error")
    assert "secret" not in (await response.text())


async def test_every_response_carries_a_request_id(client: Client) -> None:
    generated = await client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-Id"])
    echoed = await client.get("/healthz", headers={"X-Request-Id": "trace-42.a"})
    assert echoed.headers["X-Request-Id"] == "trace-42.a"
    hostile = await client.get("/healthz", headers={"X-Request-Id": "x" * 500})
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["X-Request-Id"])


async def test_metrics_count_requests_by_route_template_and_status(client: Client) -> None:
    for _ in range(3):
        await client.get("/healthz")
    await client.get("/missing/42")
    text = await (await client.get("/metrics")).text()
    assert 'wharf_http_requests_total{method="GET",route="/healthz",status="200"} 3.0' in text
    assert 'wharf_http_requests_total{method="GET",route="(unmatched)",status="404"} 1.0' in text
    assert 'wharf_http_request_duration_seconds_count{method="GET",route="/healthz"} 3.0' in text
    assert re.search(r"^wharf_db_pool_connections_max 5\.0$", text, re.MULTILINE)
    assert "wharf_db_pool_connections_in_use" in text


async def test_access_log_is_one_json_line_per_request(
    make_client: AppFactory, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client = await make_client(Config(database_url=db_url, access_log=True))
    response = await client.get("/healthz", headers={"X-Request-Id": "abc"})
    assert response.status == 200
    import orjson

    lines = [orjson.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    entry = next(line for line in lines if line["request_id"] == "abc")
    assert entry["route"] == "/healthz" and entry["status"] == 200 and entry["method"] == "GET"
    assert entry["duration_ms"] >= 0


async def test_every_registered_route_is_in_the_openapi_document(client: Client) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    missing = []
    for route in client.app.router.routes():
        if route.method == "HEAD":
            continue
        path = route.resource.canonical if route.resource is not None else ""
        if route.method.lower() not in document["paths"].get(path, {}):
            missing.append(f"{route.method} {path}")
    assert missing == []
    assert len(document["paths"]) >= 4
