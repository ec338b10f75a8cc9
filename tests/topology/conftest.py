"""One running topology per module: a PostgreSQL primary, its streaming standby and three
`registry serve` nodes (testkit/topology.py).

Starting it costs about five seconds and five server processes, so the module shares one. The
suite distributes with xdist's default `--dist load`, and it stays so: `--dist loadgroup` with an
`xdist_group` mark would keep the module on one worker, but on pytest 9.2 it silently stops grouping
(pytest-dev/pytest-xdist#1386), and changing the scheduling of ~1,750 tests for eight is not worth
it. Under `load` a worker that draws one of these tests starts a topology of its own (at most one
per worker: two on this machine), on its own ports and in its own directory, so nothing is shared
between them and the tests are correct wherever they run; the price is a second start-up.

Each test starts from a healthy topology (`topology`), whatever the test before it stopped or
killed, and arranges its own users and extensions under fresh names, so the tests depend neither
on their order nor on which of them share a worker.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.topology import Topology, start_topology

LIMITS = {"WHARF_AUTH_FAILURES_PER_USER": "4", "WHARF_AUTH_FAILURES_PER_ADDRESS": "6"}
"""Small sign-in budgets, so that "one global limit" is reached in a handful of requests."""


@pytest.fixture(scope="module")
def running_topology() -> Iterator[Topology]:
    with start_topology(nodes=3, env=LIMITS) as topology:
        yield topology


@pytest.fixture
def topology(running_topology: Topology) -> Iterator[Topology]:
    running_topology.ensure_healthy()
    yield running_topology
    running_topology.resume_replay()
    print(running_topology.logs())  # captured: pytest shows it only beside a failure
