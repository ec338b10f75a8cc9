"""The command line every HTTP load benchmark shares: its docstring as the help, and the load it
drives (how many concurrent clients, for how many seconds a scenario)."""

from __future__ import annotations

import argparse


def load_parser(doc: str | None, *, concurrency: int, seconds: float = 5.0) -> argparse.ArgumentParser:
    """A parser with --concurrency and --seconds; the benchmark adds its own options."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=concurrency)
    parser.add_argument("--seconds", type=float, default=seconds)
    return parser
