"""Java: Gradle's dependency locks, `gradle.lockfile` (and `buildscript-gradle.lockfile`, and the
per-configuration `gradle/dependency-locks/<configuration>.lockfile` of Gradle < 6).

Each line is `group:artifact:version=configuration,configuration,...` (`empty=...` lists the
configurations that resolved to nothing). The lock records no graph, so depth is 0 (unknown) and
there are no parents. Direct is unknown too, unless the build file beside the lock names the
coordinates (`"group:artifact:…"` in build.gradle or build.gradle.kts): then the row is direct.
A version catalogue (`libs.foo`) is not followed, so such dependencies stay depth 0.

The configurations say what a dependency is for: it is dev unless it is on a production
classpath (`compileClasspath`, `runtimeClasspath`, or `<sourceSet>CompileClasspath` /
`<sourceSet>RuntimeClasspath` for a source set that is not a test one); tool configurations
(checkstyle, annotation processors, the buildscript `classpath`) are build tooling, hence dev.
"""

from __future__ import annotations

import posixpath
import re

from registry.ecosystems.base import LockParseResult, ManifestError, ReadFile, ResolvedDependency, decode_text
from registry.ecosystems.lockfile import sibling

LANGUAGE = "java"
LOCKFILES = ("gradle.lockfile", "*-gradle.lockfile", "gradle/dependency-locks/*.lockfile")

_LINE = re.compile(r"^([^:=\s]+):([^:=\s]+):([^:=\s]+)=([^=\s]*)$")
_PRODUCTION = re.compile(r"^(?:compileClasspath|runtimeClasspath|\w+(?:Compile|Runtime)Classpath)$")
_TEST = re.compile(r"test", re.IGNORECASE)
_BUILD_FILES = ("build.gradle", "build.gradle.kts")


def matches_lockfile(path: str) -> bool:
    parts = path.split("/")
    if parts[-1] == "gradle.lockfile" or parts[-1].endswith("-gradle.lockfile"):
        return True
    return parts[-1].endswith(".lockfile") and parts[-3:-1] == ["gradle", "dependency-locks"]


def parse_lock(path: str, data: bytes, read: ReadFile) -> LockParseResult:
    build = _build_text(path, read)
    rows: dict[tuple[str, str], ResolvedDependency] = {}
    legacy = posixpath.dirname(path).endswith("gradle/dependency-locks")
    for number, raw in enumerate(decode_text(path, data).splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("empty="):
            continue
        if legacy and "=" not in line:  # Gradle < 6: one configuration per file, named by the file
            line = f"{line}={posixpath.basename(path).removesuffix('.lockfile')}"
        match = _LINE.match(line)
        if match is None:
            raise ManifestError(f"{path}:{number}: expected group:artifact:version=configurations, got {line[:80]!r}")
        group, artifact, version, listed = match.groups()
        configurations = sorted({name for name in listed.split(",") if name})
        package = f"{group}:{artifact}"
        direct = build is not None and f"{package}:" in build
        dev = not any(_PRODUCTION.match(name) and not _TEST.search(name) for name in configurations)
        hints = {"configurations": configurations}
        rows[(package, version)] = ResolvedDependency(
            package, version, direct, 1 if direct else 0, (), dev, False, path, hints
        )
    return LockParseResult(LANGUAGE, [rows[key] for key in sorted(rows)])


def _build_text(path: str, read: ReadFile) -> str | None:
    """The build file the lock belongs to; the legacy locks live two directories below it."""
    base = "../../" if posixpath.dirname(path).endswith("gradle/dependency-locks") else ""
    for name in _BUILD_FILES:
        data = read(sibling(path, base + name))
        if data is not None:
            return data.decode("utf-8", "replace")
    return None
