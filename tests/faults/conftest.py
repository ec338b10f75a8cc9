"""What the fault tests share: a PostgreSQL of their own, which they may stop and start."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.db.embedded import EmbeddedPostgres


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    """The embedded binaries on a data directory of the test's own, never the shared test server."""
    path = Path(tempfile.gettempdir()) / f"wharf-faults-{uuid.uuid4().hex[:12]}"
    embedded = EmbeddedPostgres(path, server_options=("fsync=off", "synchronous_commit=off"))
    try:
        yield embedded
    finally:
        embedded.stop()
        shutil.rmtree(path, ignore_errors=True)
