"""The concurrency soak (testkit/stress.py, which bench/stress_concurrency.py runs at full size) in a
bounded form: a few publishers, readers and indexer workers for a few seconds against a real
`registry serve`; nothing may be lost and every status must be a documented one."""

from __future__ import annotations

from testkit.stress import DOCUMENTED, StressConfig, stress


async def test_publishers_readers_and_workers_at_once_lose_nothing(fresh_db_url: str) -> None:
    config = StressConfig(publishers=5, readers=20, workers=2, seconds=8, repos=40, max_growth_mib=128)

    report = await stress(fresh_db_url, config)

    summary = "\n".join(report.lines)
    assert report.tried["publish new"] > 0, summary
    assert report.tried["republish identical"] > 0, summary
    assert report.tried["republish different"] > 0, summary
    assert report.tried["acknowledged publishes verified"] > 0, summary
    assert report.tried["repositories queued"] == 40, summary
    assert sum(report.lost.values()) == 0, summary
    assert not [status for status in report.statuses if status not in DOCUMENTED], summary
    assert report.statuses[500] == report.statuses[503] == 0, summary
    assert not report.transport, summary
    assert not report.failures, summary
    assert report.ok, summary
