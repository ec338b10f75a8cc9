"""The long fuzzing run, against a running registry (e.g. `registry serve`):

    WHARF_TOKEN=<a site admin's user:all token> python -m tests.fuzz.fuzz_long --url http://127.0.0.1:8080 \\
        --examples 200 [--seed N | --random] [--positive-only]

Loads the server's own /api/openapi.json, sends every generated case with the token and without
credentials, prints one line per operation and mode, then every failure with a curl command to
reproduce it. Exit status 1 when anything failed. (`WHARF_FUZZ_EXAMPLES=200 pytest -n0 tests/fuzz`
does the same against a seeded test server.)
"""

from __future__ import annotations

import argparse
import os
import sys

import requests
from schemathesis import GenerationMode

from tests.fuzz.fuzzing import fuzz


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("WHARF_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--token", default=os.environ.get("WHARF_TOKEN"), help="default: $WHARF_TOKEN")
    parser.add_argument("--examples", type=int, default=int(os.environ.get("WHARF_FUZZ_EXAMPLES", "100")))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random", action="store_true", help="new cases on every run (not derandomized)")
    parser.add_argument("--positive-only", action="store_true", help="only data that fits the schemas")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("a site admin's user:all token is needed (--token or WHARF_TOKEN)")
    base_url = args.url.rstrip("/")
    document = requests.get(f"{base_url}/api/openapi.json", timeout=10).json()
    modes = [GenerationMode.POSITIVE] if args.positive_only else list(GenerationMode)
    outcome = fuzz(
        document,
        base_url,
        token=args.token,
        max_examples=args.examples,
        modes=modes,
        seed=None if args.random else args.seed,
        log=lambda line: print(line, flush=True),
    )
    print(outcome.report())
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
