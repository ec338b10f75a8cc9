"""From a repository to index rows: run every parser that claims a file, collect, report."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from indexer.reader import Repository
from registry.domain.record import Record
from registry.ecosystems import ecosystems_for
from registry.ecosystems.base import Dependency, ManifestError, PackageDef, ResolvedDependency

log = logging.getLogger("wharf.indexer")


class Problem(Record):
    path: str
    message: str


@dataclass
class Scan:
    """What one repository defines and depends on, by language, and the files that failed."""

    packages: list[tuple[str, PackageDef]] = field(default_factory=list)
    dependencies: list[tuple[str, Dependency]] = field(default_factory=list)
    resolved: list[tuple[str, ResolvedDependency]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0


def scan(repository: Repository) -> Scan:
    """Parse every manifest in `repository`. A malformed file is reported and skipped."""
    result = Scan()
    for manifest in repository.manifests(lambda path: bool(ecosystems_for(path))):
        result.files += 1
        for ecosystem in ecosystems_for(manifest.path):
            try:
                parsed = ecosystem.parse(manifest.path, manifest.data, repository.read)
            except ManifestError as exc:
                log.warning("skipped %s: %s", manifest.path, exc)
                result.problems.append(Problem(manifest.path, str(exc)))
                continue
            result.packages += [(parsed.language, package) for package in parsed.packages]
            result.dependencies += [(parsed.language, dependency) for dependency in parsed.dependencies]
    return result
