"""Three `registry serve` nodes on one PostgreSQL primary and its streaming standby behave as one:
what is written through any node is read through every other within a second, limits hold across
all of them, and losing the standby or a node costs no answers.

"Within 1 s" is a deadline each test polls against, not a measurement: the bound is the promise.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import pytest

from testkit.topology import PASSWORD, Topology, basic_auth, bundle_text, release_body

T = TypeVar("T")
PROPAGATION = 1.0  # seconds: a change made through one node is seen through every other within this
DETECTION = 10.0  # seconds: a node notices a replica that went away or came back within this


async def within(seconds: float, probe: Callable[[], Awaitable[T]], done: Callable[[T], bool]) -> T:
    """Ask `probe` until `done` holds of its answer or `seconds` pass; the last answer either way, for
    the caller to assert on (so a failure shows what was seen last)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        answer = await probe()
        if done(answer) or asyncio.get_running_loop().time() >= deadline:
            return answer
        await asyncio.sleep(0.02)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client that keeps cookies for 127.0.0.1 (the default jar refuses them for an IP address),
    as a browser behind the load balancer would for the site's one origin."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


def fresh(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def new_extension(topology: Topology) -> tuple[str, str]:
    """A new publisher's token, and the id of an extension it may publish."""
    publisher = fresh("pub")
    return topology.sign_up(publisher), f"{publisher}/ext"


def token_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


async def publish(http: aiohttp.ClientSession, node: str, token: str, extension_id: str, version: str) -> Any:
    async with http.post(
        f"{node}/api/publish", json=release_body(extension_id, version), headers=token_headers(token)
    ) as response:
        body = await response.json()
        assert response.status == 201, body
        return body


async def get(http: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, bytes]:
    async with http.get(url, headers=headers) as response:
        return response.status, await response.read()


async def bundle_by_tag(http: aiohttp.ClientSession, node: str, extension_id: str) -> tuple[int, bytes]:
    return await get(http, f"{node}/api/extensions/{extension_id}/-/bundle.js?tag=release")


async def bundle_by_version(
    http: aiohttp.ClientSession, node: str, extension_id: str, version: str
) -> tuple[int, bytes]:
    return await get(http, f"{node}/api/extensions/{extension_id}/-/bundle.js?version={version}")


def serving(version: str) -> Callable[[tuple[int, bytes]], bool]:
    """Whether an answer is the bundle of `version` (the served source map URL is the node's own)."""
    first_line = bundle_text(version).encode().split(b"\n")[0]
    return lambda answer: answer[0] == 200 and answer[1].split(b"\n")[0] == first_line


async def serves_by_tag(http: aiohttp.ClientSession, node: str, extension: str, version: str) -> None:
    """`node` serves `version` as the extension's tagged release within the propagation bound."""
    answer = await within(PROPAGATION, lambda: bundle_by_tag(http, node, extension), serving(version))
    assert serving(version)(answer), answer


async def readiness(http: aiohttp.ClientSession, node: str) -> tuple[int, Any]:
    async with http.get(f"{node}/readyz") as response:
        return response.status, await response.json(content_type=None)


def replica_states(answer: tuple[int, Any]) -> list[tuple[str, str]]:
    status, body = answer
    return (
        [(replica.get("name"), replica.get("state")) for replica in body.get("replicas", [])] if status == 200 else []
    )


# -- writes through one node, reads through another ---------------------------------------------------


async def test_a_release_published_on_one_node_is_served_by_tag_from_another_within_a_second(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    a, b, c = topology.urls
    token, extension = new_extension(topology)

    await publish(http, a, token, extension, "1.0.0")
    await serves_by_tag(http, b, extension, "1.0.0")

    await publish(http, a, token, extension, "1.0.1")  # B has 1.0.0 hot by now: the new tag must win
    await serves_by_tag(http, b, extension, "1.0.1")

    async def latest_on_c() -> Any:
        async with http.get(f"{c}/api/extensions/{extension}") as response:
            return (await response.json())["latest_release"]["version"] if response.status == 200 else response.status

    assert await within(PROPAGATION, latest_on_c, lambda version: version == "1.0.1") == "1.0.1"


async def test_a_release_yanked_on_one_node_stops_being_served_by_tag_and_by_version_on_another_within_a_second(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    a, b, _ = topology.urls
    token, extension = new_extension(topology)
    await publish(http, a, token, extension, "1.0.0")
    await publish(http, a, token, extension, "1.1.0")
    await serves_by_tag(http, b, extension, "1.1.0")
    assert serving("1.1.0")(await bundle_by_version(http, b, extension, "1.1.0")), "B serves 1.1.0 both ways"

    async with http.delete(f"{a}/api/extensions/{extension}/releases/1.1.0", headers=token_headers(token)) as yank:
        assert yank.status == 204

    async def on_b() -> tuple[tuple[int, bytes], int]:
        return await bundle_by_tag(http, b, extension), (await bundle_by_version(http, b, extension, "1.1.0"))[0]

    by_tag, by_version = await within(PROPAGATION, on_b, lambda seen: serving("1.0.0")(seen[0]) and seen[1] == 404)
    assert serving("1.0.0")(by_tag), f"B still serves by tag: {by_tag}"
    assert by_version == 404, "B still serves the yanked version"


async def test_a_client_reads_its_own_write_through_another_node_at_once(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    a, b, c = topology.urls
    token, extension = new_extension(topology)
    topology.pause_replay()  # the standby receives the publish but does not apply it

    async with http.post(
        f"{a}/api/publish", json=release_body(extension, "1.0.0"), headers=token_headers(token)
    ) as response:
        assert response.status == 201, await response.text()
        lsn = response.headers.get("Wharf-LSN", "")
        set_cookie = response.headers.get("Set-Cookie", "")
    assert re.fullmatch(r"[0-9A-F]+/[0-9A-F]+", lsn), f"Wharf-LSN: {lsn!r}"
    assert f"wharf_lsn={lsn}" in set_cookie, set_cookie
    for attribute in ("Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=60"):
        assert attribute.lower() in set_cookie.lower(), f"{attribute} missing from {set_cookie!r}"

    status, body = await get(http, f"{b}/api/extensions/{extension}")  # the jar sends wharf_lsn
    assert status == 200, body
    assert serving("1.0.0")(await bundle_by_tag(http, b, extension)), "the writer's next read, on B"
    async with aiohttp.ClientSession() as other_client:  # no cookie: the header says the same
        assert serving("1.0.0")(await get(other_client, f"{c}/api/extensions/{extension}/-/bundle.js", **{
            "Wharf-Read-After": lsn
        }))  # fmt: skip


# -- one limit, however the attempts are spread ---------------------------------------------------------


async def sign_in(http: aiohttp.ClientSession, node: str, username: str, password: str, address: str) -> int:
    headers = {**basic_auth(username, password), "X-Forwarded-For": address}
    async with http.post(f"{node}/api/tokens", json={"note": "n", "scopes": ["user:all"]}, headers=headers) as response:
        return response.status


async def test_failed_sign_ins_spread_over_three_nodes_are_refused_at_the_one_global_limit(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    a, b, c = topology.urls
    username = fresh("victim")
    topology.sign_up(username)
    guesser = f"198.51.100.{uuid.uuid4().int % 250 + 1}"

    wrong = [await sign_in(http, node, username, "wrong guess", guesser) for node in (a, b, c, a)]
    assert wrong == [401, 401, 401, 401], "WHARF_AUTH_FAILURES_PER_USER=4, counted on all nodes together"
    after = [await sign_in(http, node, username, "wrong guess", guesser) for node in (b, c, a)]
    assert after == [429, 429, 429], "past the limit, every node refuses"
    assert await sign_in(http, c, username, PASSWORD, guesser) == 429, "even the right password, from there"
    assert await sign_in(http, b, username, PASSWORD, "203.0.113.7") == 201, "the owner, elsewhere, is not locked out"


async def test_failures_from_one_address_spread_over_three_nodes_are_refused_at_the_one_address_limit(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    a, b, c = topology.urls
    usernames = [fresh("user") for _ in range(7)]
    address = f"192.0.2.{uuid.uuid4().int % 250 + 1}"

    spread = [await sign_in(http, (a, b, c)[n % 3], name, "wrong guess", address) for n, name in enumerate(usernames)]
    assert spread == [401] * 6 + [429], "WHARF_AUTH_FAILURES_PER_ADDRESS=6, counted on all nodes together"


# -- losing a part ---------------------------------------------------------------------------------------


async def test_with_the_standby_stopped_every_read_still_answers_and_readyz_says_degraded(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    a, b, c = topology.urls
    token, extension = new_extension(topology)
    publisher = extension.split("/")[0]
    await publish(http, a, token, extension, "1.0.0")
    for node in topology.urls:
        ready = await readiness(http, node)
        assert ready[0] == 200 and ready[1]["status"] == "ready", ready
        assert replica_states(ready) == [(topology.standby_name, "streaming")], ready
        assert isinstance(ready[1]["replicas"][0]["lag_seconds"], int | float), ready
    await serves_by_tag(http, c, extension, "1.0.0")

    topology.stop_standby()

    reads = [f"/api/extensions/{extension}", f"/api/extensions/{extension}/-/bundle.js?tag=release",
             f"/api/extensions/{extension}/-/bundle.js?version=1.0.0", f"/api/extensions?publisher={publisher}",
             f"/api/extensions/{extension}/releases"]  # fmt: skip
    answers = {(node, path): (await get(http, node + path))[0] for node in topology.urls for path in reads}
    assert set(answers.values()) == {200}, {key: status for key, status in answers.items() if status != 200}
    await publish(http, b, token, extension, "1.0.1")  # writes never needed the standby
    assert serving("1.0.1")(await bundle_by_tag(http, c, extension))

    down = [(topology.standby_name, "down")]
    for node in topology.urls:
        ready = await within(
            DETECTION, lambda node=node: readiness(http, node), lambda seen: replica_states(seen) == down
        )
        assert ready[0] == 200 and ready[1]["status"] == "degraded", ready
        assert replica_states(ready) == down and ready[1]["replicas"][0]["lag_seconds"] is None, ready
    metrics = (await get(http, f"{a}/metrics"))[1]
    assert f'wharf_replica_up{{replica="{topology.standby_name}"}} 0.0' in metrics.decode(), "metrics show it down"

    topology.start_standby()
    back = await within(DETECTION, lambda: readiness(http, b), lambda seen: seen[1].get("status") == "ready")
    assert replica_states(back) == [(topology.standby_name, "streaming")], back
    metrics_text = (await get(http, f"{b}/metrics"))[1].decode()
    assert f'wharf_replica_lag_seconds{{replica="{topology.standby_name}"}}' in metrics_text
    assert "wharf_cache_listener_up 1.0" in metrics_text


async def test_a_node_killed_under_load_leaves_the_other_two_answering_without_errors(
    topology: Topology, http: aiohttp.ClientSession
) -> None:
    nodes = topology.urls
    token, extension = new_extension(topology)
    await publish(http, nodes[0], token, extension, "1.0.0")
    await within(PROPAGATION, lambda: bundle_by_tag(http, nodes[2], extension), serving("1.0.0"))
    answers: dict[int, Counter[str]] = {index: Counter() for index in range(3)}  # node -> status or error
    loaded, killed = asyncio.Event(), asyncio.Event()
    after_kill = Counter[int]()
    versions = iter(range(1, 10**6))

    async def request(index: int, turn: int) -> None:
        node = nodes[index]
        try:
            if turn % 10 == 0:
                body = release_body(extension, f"1.0.{next(versions)}")
                async with http.post(f"{node}/api/publish", json=body, headers=token_headers(token)) as response:
                    answers[index][str(response.status)] += 1
            else:
                path = ("", "/-/bundle.js?tag=release", "/releases")[turn % 3]
                async with http.get(f"{node}/api/extensions/{extension}{path}") as response:
                    await response.read()
                    answers[index][str(response.status)] += 1
        except (aiohttp.ClientError, OSError) as error:
            answers[index][type(error).__name__] += 1
        if sum(sum(counts.values()) for counts in answers.values()) >= 150:
            loaded.set()
        if killed.is_set():
            after_kill[index] += 1

    async def client(number: int) -> None:
        turn = number
        while min(after_kill[0], after_kill[1]) < 100:
            turn += 1
            await request(turn % 2 if killed.is_set() else turn % 3, turn)  # the balancer drops C once gone

    async def kill_once_loaded() -> None:
        await loaded.wait()
        await asyncio.to_thread(topology.nodes[2].kill)  # mid-request: publishes and reads in flight on C
        killed.set()

    await asyncio.wait_for(asyncio.gather(kill_once_loaded(), *(client(n) for n in range(12))), timeout=30)

    survivors = answers[0] + answers[1]
    assert set(survivors) <= {"200", "201"}, f"A and B answered {dict(survivors)}; C: {dict(answers[2])}"
    assert survivors["201"] > 0, "publishes went through A and B"


async def test_downloads_through_three_nodes_add_up_exactly(topology: Topology, http: aiohttp.ClientSession) -> None:
    a, b, c = topology.urls
    token, extension = new_extension(topology)
    publisher = extension.split("/")[0]
    await publish(http, a, token, extension, "1.0.0")
    await within(
        PROPAGATION, lambda: get(http, f"{c}/api/extensions/{extension}/releases/1.0.0"), lambda seen: seen[0] == 200
    )

    fetched = 0
    for round_ in range(10):
        for node in (a, b, c):
            status, _ = await get(http, f"{node}/api/extensions/{extension}/-/bundle.js", **{
                "X-Forwarded-For": f"203.0.113.{round_ + 1}"
            })  # fmt: skip
            assert status == 200
            fetched += 1
    assert await asyncio.to_thread(topology.nodes[2].stop) == 0, "SIGTERM: C flushes what it counted and exits"

    async def downloads(node: str) -> int:
        async with http.get(f"{node}/api/extensions/{extension}") as response:
            return int((await response.json())["downloads"])

    assert await within(DETECTION, lambda: downloads(a), lambda total: total >= fetched) == fetched
    await asyncio.sleep(1.0)  # five flush intervals more: nothing is counted twice
    assert [await downloads(node) for node in (a, b)] == [fetched, fetched]
    rows = topology.primary.sql(
        "SELECT sum(d.count) FROM registry_extension_downloads d"
        "  JOIN registry_extension_releases r ON r.id = d.release_id"
        "  JOIN registry_extensions e ON e.id = r.registry_extension_id"
        "  JOIN users u ON u.id = e.publisher_user_id"
        f" WHERE u.username = '{publisher}' AND e.name = 'ext'"
    )
    assert rows == [[str(fetched)]], "the primary holds the exact sum"
