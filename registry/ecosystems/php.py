"""PHP: Composer's `composer.json`.

Only `require` and `require-dev` are dependencies. `replace`, `provide`, `conflict` and `suggest`
name packages this one stands in for, clashes with or merely mentions, so counting them as
dependencies would make other packages look used when they are not; they are skipped.
Platform requirements (`php`, `ext-*`, `lib-*`, `composer-runtime-api`, ...) are kept — they are
real constraints on where the package runs — and flagged with `{"platform": true}`.
"""

from __future__ import annotations

import re
from typing import Any

from registry.ecosystems.base import Dependency, PackageDef, ParseResult, ReadFile, load_json_object

LANGUAGE = "php"

_SECTIONS = ("require", "require-dev")
# Composer's own PlatformRepository::PLATFORM_PACKAGE_REGEX: names that are not installable packages.
_PLATFORM = re.compile(
    r"^(?:php(?:-64bit|-ipv6|-zts|-debug)?|hhvm|(?:ext|lib)-[a-z0-9](?:[_.-]?[a-z0-9]+)*"
    r"|composer(?:-(?:plugin|runtime)-api)?)$",
    re.IGNORECASE,
)


def normalise_name(name: str) -> str:
    """Composer's `vendor/package` names are case-insensitive; the index stores them lowercased."""
    return name.lower()


def matches(path: str) -> bool:
    """A `composer.json`, except copies Composer installed under `vendor/`."""
    parts = path.split("/")
    return parts[-1] == "composer.json" and "vendor" not in parts[:-1]


def parse(path: str, data: bytes, read: ReadFile) -> ParseResult:
    """The package's name/version and its `require` / `require-dev` entries, ranges verbatim (`||` included)."""
    del read  # composer.json is self-contained
    doc = load_json_object(path, data)
    deps = [dep for section in _SECTIONS for dep in _section(path, doc, section)]
    return ParseResult(LANGUAGE, _package(path, doc), deps)


def _package(path: str, doc: dict[str, Any]) -> list[PackageDef]:
    """Composer names are case-insensitive `vendor/package`; they are stored lowercased."""
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        return []
    version = doc.get("version")
    return [PackageDef(normalise_name(name.strip()), version if isinstance(version, str) else None, path)]


def _section(path: str, doc: dict[str, Any], section: str) -> list[Dependency]:
    """Entries that are not `{name: "constraint"}` are ignored, as Composer's validator would reject them."""
    entries = doc.get(section)
    if not isinstance(entries, dict):
        return []
    deps = []
    for name, constraint in entries.items():
        if not isinstance(name, str) or not isinstance(constraint, str):
            continue
        package = normalise_name(name.strip())
        hints: dict[str, Any] = {"platform": True} if _PLATFORM.match(package) else {}
        deps.append(Dependency(package, constraint, section, path, hints))
    return deps
