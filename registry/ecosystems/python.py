"""Python: `pyproject.toml` (PEP 621, PEP 735, Poetry), `setup.cfg`, `Pipfile` and requirements files.

Requirement strings go through `packaging` (PEP 508), names through `canonicalize_name` (PEP 503).
The stored range is the specifier text as written (`>=1.0,<2`), since `str(SpecifierSet)` reorders
it; markers and extras go to hints. Formats of their own (Poetry's `^1.2`, Pipfile's `*`) are kept
verbatim as well.

Requirements files: the indexer parses every requirements file on its own, so a `-r other.txt`
include is not re-emitted by the includer. The exception is an included file that `matches()`
would not pick up (say `-r base.in` or `-r ../common/deps`): nobody else would record it, so it is
followed through `read()` and its entries are recorded with the included file's own path
(recursively, with a guard against include cycles). Lines `packaging` cannot read are skipped, not fatal.
"""

from __future__ import annotations

import configparser
import posixpath
import re
from collections.abc import Iterator
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from registry.ecosystems.base import (
    Dependency,
    ManifestError,
    PackageDef,
    ParseResult,
    ReadFile,
    decode_text,
    load_toml,
)

LANGUAGE = "python"

Table = dict[str, Any]

_NAME_AND_EXTRAS = re.compile(r"^\s*[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?\s*(?:\[[^\]]*\])?\s*")
_PER_LINE_OPTION = re.compile(r"\s--?[A-Za-z]")  # `--hash=...`, `--config-settings ...` after a requirement
_URL_LIKE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|\.{0,2}/|~)")
_EGG = re.compile(r"[#&]egg=([^&\s]+)")
_INCLUDE = re.compile(r"^(?:-r|--requirement)(?:\s*=\s*|\s+|(?=[^\s-]))(\S+)")
_EDITABLE = re.compile(r"^(?:-e|--editable)(?:\s*=\s*|\s+)(\S+)")
_POETRY_HINTS = ("git", "branch", "tag", "rev", "url", "markers", "python", "source", "extras", "develop")
_PIPFILE_HINTS = ("git", "ref", "extras", "markers", "editable", "index")
_PIPFILE_RESERVED = {"source", "requires", "scripts", "pipenv", "packages", "dev-packages"}


def normalise_name(name: str) -> str:
    """PEP 503: the index stores and looks up `Foo_Bar` as `foo-bar`."""
    return str(canonicalize_name(name))


def matches(path: str) -> bool:
    """pyproject.toml, setup.cfg, Pipfile, `*requirements*.txt|.in`, and any .txt/.in under a `requirements/` dir."""
    parts = path.split("/")
    name = parts[-1]
    if name in ("pyproject.toml", "setup.cfg", "Pipfile"):
        return True
    return name.endswith((".txt", ".in")) and ("requirements" in name.lower() or "requirements" in parts[:-1])


def parse(path: str, data: bytes, read: ReadFile) -> ParseResult:
    name = posixpath.basename(path)
    if name == "pyproject.toml":
        return _pyproject(path, load_toml(path, data))
    if name == "Pipfile":
        return ParseResult(LANGUAGE, [], _pipfile(path, load_toml(path, data)))
    if name == "setup.cfg":
        return _setup_cfg(path, decode_text(path, data))
    deps = list(_requirements(path, decode_text(path, data), read, {path}))
    return ParseResult(LANGUAGE, [], deps)


def _table(value: object) -> Table:
    return value if isinstance(value, dict) else {}


# --- PEP 508 strings -------------------------------------------------------------------------------


def _pep508(path: str, text: str, dep_type: str, extra_hints: Table | None = None) -> Dependency | None:
    """One requirement string, or None when `packaging` cannot read it (the caller skips it)."""
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return None
    hints: Table = dict(extra_hints or {})
    if req.extras:
        hints["extras"] = sorted(req.extras)
    if req.marker is not None:
        hints["marker"] = str(req.marker)
    if req.url:
        hints["url"] = req.url
    return Dependency(normalise_name(req.name), _declared_range(text, req), dep_type, path, hints)


def _declared_range(text: str, req: Requirement) -> str:
    """The specifier as written; `str(req.specifier)` only if the written text cannot be isolated."""
    if req.url:
        return ""
    written = _NAME_AND_EXTRAS.sub("", text.split(";", 1)[0], count=1).strip()
    if written.startswith("(") and written.endswith(")"):
        written = written[1:-1].strip()
    try:
        if SpecifierSet(written) == req.specifier:
            return written
    except InvalidSpecifier:
        pass
    return str(req.specifier)


def _pep508_list(path: str, items: object, dep_type: str) -> list[Dependency]:
    if not isinstance(items, list):
        return []
    deps = [_pep508(path, item, dep_type) for item in items if isinstance(item, str)]
    return [dep for dep in deps if dep is not None]


# --- pyproject.toml --------------------------------------------------------------------------------


def _pyproject(path: str, doc: Table) -> ParseResult:
    project = _table(doc.get("project"))
    poetry = _table(_table(doc.get("tool")).get("poetry"))
    deps = _pep508_list(path, project.get("dependencies"), "dependencies")
    for extra, items in _table(project.get("optional-dependencies")).items():
        deps += _pep508_list(path, items, f"optional:{extra}")
    deps += _dependency_groups(path, _table(doc.get("dependency-groups")))
    deps += _poetry(path, poetry)
    return ParseResult(LANGUAGE, _pyproject_package(path, project, poetry), deps)


def _pyproject_package(path: str, project: Table, poetry: Table) -> list[PackageDef]:
    """PEP 621 metadata wins over Poetry's (Poetry 2 reads both); a dynamic version is unknown here."""
    source = project if isinstance(project.get("name"), str) else poetry
    name = source.get("name")
    if not isinstance(name, str) or not name.strip():
        return []
    dynamic = source.get("dynamic")
    version = source.get("version")
    if not isinstance(version, str) or (isinstance(dynamic, list) and "version" in dynamic):
        version = None
    return [PackageDef(normalise_name(name), version, path)]


def _dependency_groups(path: str, groups: Table) -> list[Dependency]:
    """PEP 735 groups, each with its `{include-group = ...}` entries expanded in place."""
    by_name: Table = {canonicalize_name(name): items for name, items in groups.items()}
    deps: list[Dependency] = []
    for name in groups:
        for text, via in _expand_group(by_name, canonicalize_name(name), ()):
            hints = {"include_group": via} if via else None
            dep = _pep508(path, text, f"group:{name}", hints)
            if dep is not None:
                deps.append(dep)
    return deps


def _expand_group(by_name: Table, name: str, stack: tuple[str, ...]) -> Iterator[tuple[str, str | None]]:
    """(requirement, group it was included from); a cycle or unknown group stops expanding (PEP 735 forbids both)."""
    items = by_name.get(name)
    if name in stack or not isinstance(items, list):
        return
    for item in items:
        if isinstance(item, str):
            yield item, (name if stack else None)
        elif isinstance(item, dict) and isinstance(item.get("include-group"), str):
            yield from _expand_group(by_name, canonicalize_name(item["include-group"]), (*stack, name))


def _poetry(path: str, poetry: Table) -> list[Dependency]:
    deps = _poetry_table(path, poetry.get("dependencies"), "dependencies")
    deps += _poetry_table(path, poetry.get("dev-dependencies"), "group:dev")
    for group, spec in _table(poetry.get("group")).items():
        deps += _poetry_table(path, _table(spec).get("dependencies"), f"group:{group}")
    return deps


def _poetry_table(path: str, entries: object, dep_type: str) -> list[Dependency]:
    """`name = "^1.2"`, `name = {version = ..., git = ..., ...}` or a list of such tables; `python` is skipped."""
    deps = []
    for name, spec in _table(entries).items():
        if name.lower() == "python":
            continue
        for one in spec if isinstance(spec, list) else [spec]:
            dep = _poetry_entry(path, name, one, dep_type)
            if dep is not None:
                deps.append(dep)
    return deps


def _poetry_entry(path: str, name: str, spec: object, dep_type: str) -> Dependency | None:
    if isinstance(spec, str):
        return Dependency(normalise_name(name), spec, dep_type, path)
    if not isinstance(spec, dict):
        return None
    hints: Table = {key: spec[key] for key in _POETRY_HINTS if key in spec}
    if isinstance(spec.get("path"), str):
        hints["local_path"] = spec["path"]
    if spec.get("optional") is True:
        hints["optional"] = True
    version = spec.get("version")
    return Dependency(normalise_name(name), version if isinstance(version, str) else "", dep_type, path, hints)


# --- Pipfile ---------------------------------------------------------------------------------------


def _pipfile(path: str, doc: Table) -> list[Dependency]:
    """[packages] and [dev-packages]; any other table is a Pipenv package category, stored as `group:<name>`."""
    deps = _pipfile_table(path, doc.get("packages"), "dependencies")
    deps += _pipfile_table(path, doc.get("dev-packages"), "develop")
    for category, entries in doc.items():
        if category not in _PIPFILE_RESERVED and isinstance(entries, dict):
            deps += _pipfile_table(path, entries, f"group:{category}")
    return deps


def _pipfile_table(path: str, entries: object, dep_type: str) -> list[Dependency]:
    deps = []
    for name, spec in _table(entries).items():
        if isinstance(spec, str):
            deps.append(Dependency(normalise_name(name), spec, dep_type, path))
        elif isinstance(spec, dict):
            hints: Table = {key: spec[key] for key in _PIPFILE_HINTS if key in spec}
            if isinstance(spec.get("path"), str):
                hints["local_path"] = spec["path"]
            version = spec.get("version")
            version = version if isinstance(version, str) else ""
            deps.append(Dependency(normalise_name(name), version, dep_type, path, hints))
    return deps


# --- setup.cfg -------------------------------------------------------------------------------------


class _SetupCfgParser(configparser.ConfigParser):
    """setuptools' reading of setup.cfg: no `%` interpolation, keys (hence extra names) kept as written."""

    def __init__(self) -> None:
        super().__init__(interpolation=None)

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _setup_cfg(path: str, text: str) -> ParseResult:
    parser = _SetupCfgParser()
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        raise ManifestError(f"{path}: invalid setup.cfg: {exc!s:.300}") from exc
    install_requires = parser.get("options", "install_requires", fallback=None)
    if install_requires is None:  # the dashed spelling setuptools still accepts (with a warning)
        install_requires = parser.get("options", "install-requires", fallback="")
    deps = _cfg_requirements(path, install_requires, "dependencies")
    if parser.has_section("options.extras_require"):
        for extra, value in parser.items("options.extras_require"):
            deps += _cfg_requirements(path, value, f"optional:{extra}")
    return ParseResult(LANGUAGE, _cfg_package(path, parser), deps)


def _cfg_requirements(path: str, value: str, dep_type: str) -> list[Dependency]:
    """setuptools' list rule: one per line if multi-line, else `;`-separated; `file:` lists are read on their own."""
    if value.strip().startswith("file:"):
        return []
    items = value.splitlines() if "\n" in value else value.split(";")
    lines = [item.strip() for item in items if item.strip() and not item.strip().startswith("#")]
    return _pep508_list(path, lines, dep_type)


def _cfg_package(path: str, parser: _SetupCfgParser) -> list[PackageDef]:
    """`version = attr: ...` / `file: ...` is computed at build time, hence unknown (None)."""
    name = parser.get("metadata", "name", fallback="").strip()
    if not name:
        return []
    version = parser.get("metadata", "version", fallback="").strip()
    dynamic = not version or version.startswith(("attr:", "file:"))
    return [PackageDef(normalise_name(name), None if dynamic else version, path)]


# --- requirements files ----------------------------------------------------------------------------


def _logical_lines(text: str) -> Iterator[str]:
    """pip's order: join `\\` continuations, then drop comments; blank results are skipped."""
    pending: list[str] = []
    for raw in text.splitlines():
        if raw.endswith("\\"):
            pending.append(raw[:-1])
            continue
        line = _without_comment("".join([*pending, raw])).strip()
        pending = []
        if line:
            yield line
    if pending and (line := _without_comment("".join(pending)).strip()):
        yield line


def _without_comment(line: str) -> str:
    """pip's rule: `#` starts a comment at the start of a line or after whitespace (so `url#egg=x` is kept)."""
    start = line.find("#")
    while start > 0 and not line[start - 1].isspace():
        start = line.find("#", start + 1)
    return line if start < 0 else line[:start]


def _requirements(path: str, text: str, read: ReadFile, seen: set[str]) -> Iterator[Dependency]:
    for line in _logical_lines(text):
        include = _INCLUDE.match(line)
        if include:
            yield from _include(path, include.group(1), read, seen)
            continue
        dep = _requirement_line(path, line)
        if dep is not None:
            yield dep


def _requirement_line(path: str, line: str) -> Dependency | None:
    """One requirement, editable or URL line; option lines (`-i`, `-c`, `--hash`, ...) yield nothing."""
    editable = _EDITABLE.match(line)
    if editable:
        return _url_requirement(path, editable.group(1), editable=True)
    if line.startswith("-"):
        return None
    line = _PER_LINE_OPTION.split(line, maxsplit=1)[0].strip()
    if _URL_LIKE.match(line):
        return _url_requirement(path, line, editable=False)
    return _pep508(path, line, "dependencies")


def _url_requirement(path: str, url: str, editable: bool) -> Dependency | None:
    """A bare URL or local path names its project only through `#egg=name`; without it there is nothing to record."""
    egg = _EGG.search(url)
    if egg is None:
        return None
    hints: Table = {"url": url, "editable": True} if editable else {"url": url}
    return _pep508(path, egg.group(1), "dependencies", hints)


def _include(path: str, target: str, read: ReadFile, seen: set[str]) -> Iterator[Dependency]:
    """Follow `-r` only into files the indexer would not parse itself (see the module docstring)."""
    included = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    if included in seen or included.startswith(("/", "../")) or "://" in target:
        return
    seen.add(included)
    if matches(included):
        return
    data = read(included)
    if data is None:
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return
    yield from _requirements(included, text, read, seen)
