"""Which replica may answer a read: lag measured against the primary's WAL clock, floors, fences."""

from __future__ import annotations

from registry.db.lsn import PRIMARY_ONLY, format_lsn, parse_lsn
from registry.db.replicas import ReplicaSet, ReplicaState, WalClock, replica_name


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lag_is_how_long_ago_the_primary_was_where_the_replica_is() -> None:
    clock = Clock()
    wal = WalClock(60, clock=clock)
    wal.observe(1000)
    clock.now = 110
    wal.observe(2000)
    clock.now = 130
    wal.observe(2000)  # an idle primary
    assert wal.lag(2000) == 0.0, "caught up, however long the primary has been idle"
    assert wal.lag(1500) == 20.0, "the primary moved past 1500 at t=110"
    assert wal.lag(10) == 30.0, "behind everything remembered: at least since the oldest"


def test_positions_round_trip_and_anything_else_is_no_position() -> None:
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert format_lsn(parse_lsn("16/B374D848") or 0) == "16/B374D848"
    for bad in (None, "", "16", "16/", "x/1", "1/2/3", "123456789/0", "\u0661/0"):
        assert parse_lsn(bad) is None, bad


def test_a_replica_is_named_without_its_credentials() -> None:
    assert replica_name("postgresql://u:secret@db2.internal:6432/wharf?sslmode=require") == "db2.internal:6432/wharf"
    assert replica_name("postgres://db3/wharf") == "db3:5432/wharf"


async def test_reads_go_to_replicas_that_have_their_floor_and_cache_fills_wait_for_a_fence() -> None:
    replicas = await ReplicaSet.open(
        ("postgresql://127.0.0.1:1/a", "postgresql://127.0.0.1:1/b"), max_lag=5, max_size=1, db_timeout=1
    )
    try:
        a, b = replicas.replicas
        assert replicas.choose(0) is None, "not yet seen answering"
        a.up = b.up = True
        a.replayed, b.replayed = 100, 200
        a.lag_seconds = b.lag_seconds = 0.0
        assert {replicas.choose(0), replicas.choose(0)} == {a, b}, "round robin"
        assert replicas.choose(150) is b and replicas.choose(PRIMARY_ONLY) is None
        b.lag_seconds = 6.0
        assert replicas.state(b) is ReplicaState.LAGGING and replicas.choose(150) is None
        replicas.raise_cache_floor(100)
        assert replicas.choose(0, for_cache=True) is a
        replicas.fence()
        assert replicas.choose(0, for_cache=True) is None, "until the primary's position is seen again"
        assert replicas.choose(0) is a, "other reads are not held back"
    finally:
        await replicas.close()
