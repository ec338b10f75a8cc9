"""What the test suite and the benchmarks both need: databases, `registry serve` child processes, the
concurrency soak.

It is a top-level package, beside `tests/` and `bench/`, so that neither of those imports the other
(tests/test_package_boundaries.py checks it): the suite is not a library for the benchmarks, and a benchmark
script is not a fixture. It is importable from a checkout through the editable install (the
checkout's root is on `sys.path`, see pyproject.toml) and is left out of the wheel and the image:
nothing in `registry/` or `indexer/` may import it.
"""
