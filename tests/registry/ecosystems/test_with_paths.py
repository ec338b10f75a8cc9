"""`with_paths`: one shortest path from the root to each resolved row, from the rows alone — the
same on every run, linear however deep, and empty where no path is known."""

from __future__ import annotations

from registry.ecosystems.base import ResolvedDependency
from registry.ecosystems.lockfile import MAX_PATH_DEPTH, LockGraph, with_paths


def _row(key: str, depth: int, *parents: str) -> ResolvedDependency:
    package, _, version = key.rpartition("@")
    return ResolvedDependency(package, version, depth == 1, depth, tuple(parents), False, False, "x.lock")


def _via(rows: list[ResolvedDependency]) -> dict[str, tuple[str, ...]]:
    return {row.key: row.via for row in with_paths(rows)}


def test_a_diamond_takes_the_smallest_named_parent_one_depth_up() -> None:
    """react-dom and react-native both pull in scheduler: the path goes through the one named
    first, whichever order the rows or parents come in."""
    rows = [
        _row("scheduler@0.23.0", 2, "react-native@0.72.0", "react-dom@18.2.0"),
        _row("react-native@0.72.0", 1),
        _row("react-dom@18.2.0", 1),
        _row("loose-envify@1.4.0", 3, "scheduler@0.23.0"),
    ]
    assert _via(rows) == {
        "scheduler@0.23.0": ("react-dom@18.2.0",),
        "react-native@0.72.0": (),
        "react-dom@18.2.0": (),
        "loose-envify@1.4.0": ("react-dom@18.2.0", "scheduler@0.23.0"),
    }
    assert _via(rows[::-1]) == _via(rows)


def test_a_parent_deeper_than_one_step_up_is_never_a_step() -> None:
    """c is reached at depth 3 through b; a deeper parent (e at depth 4, a cycle back to c) is not
    on a shortest path."""
    rows = [
        _row("a@1", 1),
        _row("b@1", 2, "a@1"),
        _row("c@1", 3, "b@1", "e@1"),
        _row("d@1", 3, "b@1"),
        _row("e@1", 4, "c@1", "d@1"),
    ]
    via = _via(rows)
    assert via["c@1"] == ("a@1", "b@1")
    assert via["e@1"] == ("a@1", "b@1", "c@1")


def test_a_cycle_in_the_lock_resolves_to_finite_shortest_paths() -> None:
    graph = LockGraph("package-lock.json")
    for name in ("app-dep", "b", "c"):
        graph.add_package(name, name, "1.0.0")
    graph.add_direct("app-dep")
    graph.add_edge("app-dep", "b")
    graph.add_edge("b", "c")
    graph.add_edge("c", "b")  # b and c require each other
    rows = {row.package: row for row in graph.resolve()}
    assert (rows["b"].depth, rows["b"].via, rows["b"].parents) == (2, ("app-dep@1.0.0",), ("app-dep@1.0.0", "c@1.0.0"))
    assert (rows["c"].depth, rows["c"].via) == (3, ("app-dep@1.0.0", "b@1.0.0"))


def test_direct_and_depth_zero_rows_have_no_path() -> None:
    """Depth 0 is "unknown" (gradle.lockfile, Pipfile.lock, go.mod's indirect requirements, or
    nothing reaches the package): no path is made up for it, nor for a row whose only parents
    are unknown."""
    rows = [
        _row("direct@1", 1),
        _row("orphan@1", 0),
        _row("child-of-orphan@1", 2, "orphan@1"),
        _row("missing-parent@1", 2, "not-in-the-lock@9"),
    ]
    assert _via(rows) == {"direct@1": (), "orphan@1": (), "child-of-orphan@1": (), "missing-parent@1": ()}


def test_a_deep_chain_has_paths_down_to_the_bound_and_none_below() -> None:
    """A hostile chain of 50,000 packages would hold 1.25 billion names in its paths: rows deeper
    than MAX_PATH_DEPTH get none (their parents still lead up, one depth at a time)."""
    depth = 50_000
    rows = [_row("n0@1", 1)] + [_row(f"n{i}@1", i + 1, f"n{i - 1}@1") for i in range(1, depth)]
    via = _via(rows)
    deepest = f"n{MAX_PATH_DEPTH - 1}@1"  # at depth MAX_PATH_DEPTH
    assert len(via[deepest]) == MAX_PATH_DEPTH - 1
    assert via[deepest][:2] == ("n0@1", "n1@1")
    assert via[f"n{MAX_PATH_DEPTH}@1"] == ()
    assert via[f"n{depth - 1}@1"] == ()
