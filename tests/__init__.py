"""Wharf's test suite.

Bytecode is cached for the run and for every process it starts (pytest-xdist's workers, the
servers and CLIs the tests spawn, the servers' worker processes), even where the environment sets
PYTHONDONTWRITEBYTECODE (this machine's does): without it each of those processes compiles
Wharf's modules again (importing the app took 1.6 s against 1.0 s on the 2-core machine), and
pytest rewrites and compiles every test module again in every worker. This package is imported
before the conftest, so the setting reaches everything after it.
"""

import os
import sys

os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False
