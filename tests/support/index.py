"""Building index content for tests, through the real writer."""

from __future__ import annotations

import asyncpg

from indexer.scan import Scan
from indexer.writer import WriteOutcome, write_index
from registry.ecosystems import LANGUAGES
from registry.ecosystems.base import Dependency, PackageDef


def scan_of(
    deps: list[tuple[str, str, str]] | None = None,
    packages: list[tuple[str, str, str | None]] | None = None,
    path: str = "package.json",
    dep_type: str = "dependencies",
) -> Scan:
    """deps: (language, package, declared range); packages: (language, name, version)."""
    result = Scan()
    result.dependencies = [
        (lang, Dependency(pkg, declared_range, dep_type, path)) for lang, pkg, declared_range in deps or []
    ]
    result.packages = [(lang, PackageDef(name, version, path)) for lang, name, version in packages or []]
    return result


async def index_repo(db: asyncpg.Connection, uri: str, scan: Scan, revision: str | None = None) -> WriteOutcome:
    return await write_index(db, uri, revision, scan, LANGUAGES)
