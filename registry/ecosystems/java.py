"""Java: Maven's `pom.xml`, read with `defusedxml` (a POM is untrusted XML: no entity expansion).

A POM's versions often live elsewhere: in `<properties>`, in `<dependencyManagement>`, or in a
parent POM. Parents are followed through `read()` via `<relativePath>` (default `../pom.xml`;
an empty `<relativePath/>` means "not in this repository"), and a file found there is used only
if it is the parent the child names. Properties and managed versions are merged from the top
ancestor down, then `${...}` is expanded in the child's context (`project.version`,
`project.groupId`, `project.parent.version`, ...). What cannot be expanded stays verbatim.

Only `<project><dependencies>` are dependencies: `<dependencyManagement>` only pins versions,
plugin `<dependencies>` are build tooling, and `<profiles>` are conditional. A parent's own
dependencies are recorded under the parent's path, not repeated in each child.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from registry.ecosystems.base import Dependency, ManifestError, PackageDef, ParseResult, ReadFile

LANGUAGE = "java"

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
_MAX_PARENTS = 16  # deeper chains are cycles or nonsense; Maven itself would give up
_MAX_EXPANSION = 10  # nested ${a} -> ${b} -> ... rounds
_MAX_LENGTH = 4096  # a property that expands past this is an expansion bomb, not a version


@dataclass
class _Pom:
    """The raw (not yet interpolated) facts of one POM that inheritance and interpolation need."""

    group: str | None
    artifact: str | None
    version: str | None
    parent: dict[str, str | None] | None
    properties: dict[str, str] = field(default_factory=dict)
    managed: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    dependencies: list[Element] = field(default_factory=list)


def matches(path: str) -> bool:
    return path.split("/")[-1] == "pom.xml"


def parse(path: str, data: bytes, read: ReadFile) -> ParseResult:
    """This module's coordinates and its direct dependencies, with inherited properties and versions."""
    pom = _load(path, data)
    ancestors = _ancestors(path, pom, read)
    context = _Context(pom, ancestors)
    return ParseResult(LANGUAGE, _package(path, pom, context), _dependencies(path, pom, context))


def _load(path: str, data: bytes) -> _Pom:
    try:
        root = fromstring(data)
    except (ParseError, DefusedXmlException, ValueError, LookupError) as exc:  # LookupError: unknown encoding
        raise ManifestError(f"{path}: invalid XML: {exc}") from exc
    if _local(root.tag) != "project":
        raise ManifestError(f"{path}: not a Maven POM (root element is <{_local(root.tag):.40}>)")
    return _pom(root)


def _local(tag: object) -> str:
    """Tag name without the Maven namespace (`{http://maven.apache.org/POM/4.0.0}version` -> `version`)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element: Element | None, name: str) -> Element | None:
    if element is None:
        return None
    return next((child for child in element if _local(child.tag) == name), None)


def _children(element: Element | None, name: str) -> list[Element]:
    """Child elements called `name` ("*": every element child, skipping comments and processing instructions)."""
    if element is None:
        return []
    return [child for child in element if _local(child.tag) and name in ("*", _local(child.tag))]


def _text(element: Element | None, name: str) -> str | None:
    """Stripped text of a child element; None when absent or empty."""
    child = _child(element, name)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _pom(root: Element) -> _Pom:
    parent = _child(root, "parent")
    pom = _Pom(_text(root, "groupId"), _text(root, "artifactId"), _text(root, "version"), None)
    if parent is not None:
        relative = _child(parent, "relativePath")
        pom.parent = {
            "groupId": _text(parent, "groupId"),
            "artifactId": _text(parent, "artifactId"),
            "version": _text(parent, "version"),
            # None: the default ../pom.xml; "": explicitly not resolvable in the repository.
            "relativePath": None if relative is None else (relative.text or "").strip(),
        }
    for prop in _children(_child(root, "properties"), "*"):
        pom.properties[_local(prop.tag)] = (prop.text or "").strip()
    managed = _child(_child(root, "dependencyManagement"), "dependencies")
    for dep in _children(managed, "dependency"):
        key = f"{_text(dep, 'groupId')}:{_text(dep, 'artifactId')}"
        pom.managed[key] = (_text(dep, "version"), _text(dep, "scope"))
    pom.dependencies = _children(_child(root, "dependencies"), "dependency")
    return pom


def _ancestors(path: str, pom: _Pom, read: ReadFile) -> list[_Pom]:
    """Parents found in the repository, nearest first; the chain stops at the first one not found."""
    chain: list[_Pom] = []
    seen = {path}
    current, current_path = pom, path
    while current.parent is not None and len(chain) < _MAX_PARENTS:
        parent_path = _parent_path(current_path, current.parent["relativePath"])
        if parent_path is None or parent_path in seen:
            break
        parent = _read_pom(parent_path, read)
        if parent is None or not _is_named_parent(parent, current.parent):
            break
        chain.append(parent)
        seen.add(parent_path)
        current, current_path = parent, parent_path
    return chain


def _parent_path(path: str, relative: str | None) -> str | None:
    if relative == "":
        return None
    target = posixpath.normpath(posixpath.join(posixpath.dirname(path), relative or "../pom.xml"))
    if not target.endswith(".xml"):
        target = posixpath.join(target, "pom.xml")
    return None if target.startswith(("/", "../")) or target == ".." else target  # outside the repository


def _read_pom(path: str, read: ReadFile) -> _Pom | None:
    """A parent that is missing or broken just ends the chain; it is not this file's error."""
    data = read(path)
    if data is None:
        return None
    try:
        return _load(path, data)
    except ManifestError:
        return None


def _is_named_parent(candidate: _Pom, ref: dict[str, str | None]) -> bool:
    """The file at relativePath counts only if it is the artifact the child declares as its parent."""
    if candidate.artifact != ref["artifactId"]:
        return False
    group = candidate.group or (candidate.parent or {}).get("groupId")
    return ref["groupId"] is None or group is None or group == ref["groupId"]


class _Context:
    """Properties and managed dependencies as the child sees them, and `${...}` expansion."""

    def __init__(self, pom: _Pom, ancestors: list[_Pom]) -> None:
        self.properties: dict[str, str] = {}
        self.managed: dict[str, tuple[str | None, str | None]] = {}
        for ancestor in reversed(ancestors):
            self.properties.update(ancestor.properties)
        self.properties.update(pom.properties)
        self.properties.update(_builtins(pom))
        for ancestor in [*reversed(ancestors), pom]:
            for key, value in ancestor.managed.items():
                self.managed[self.expand(key)] = value

    def expand(self, text: str) -> str:
        """Replace known `${name}` placeholders, repeatedly for nested ones; unknown ones stay verbatim."""
        for _ in range(_MAX_EXPANSION):
            expanded = _PLACEHOLDER.sub(lambda m: self.properties.get(m.group(1), m.group(0)), text)
            if expanded == text or len(expanded) > _MAX_LENGTH:
                break
            text = expanded
        return text


def _builtins(pom: _Pom) -> dict[str, str]:
    """The `project.*` values (and their legacy `pom.*` spellings) a child can refer to."""
    parent = pom.parent or {}
    values = {
        "groupId": pom.group or parent.get("groupId"),
        "artifactId": pom.artifact,
        "version": pom.version or parent.get("version"),
        "parent.groupId": parent.get("groupId"),
        "parent.artifactId": parent.get("artifactId"),
        "parent.version": parent.get("version"),
    }
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is not None:
            out[f"project.{key}"] = out[f"pom.{key}"] = value
    return out


def _package(path: str, pom: _Pom, context: _Context) -> list[PackageDef]:
    """`groupId:artifactId`, both groupId and version inherited from `<parent>` when not declared."""
    group = context.properties.get("project.groupId")
    if pom.artifact is None or group is None:
        return []
    version = context.properties.get("project.version")
    name = f"{context.expand(group)}:{context.expand(pom.artifact)}"
    return [PackageDef(name, context.expand(version) if version else None, path)]


def _dependencies(path: str, pom: _Pom, context: _Context) -> list[Dependency]:
    deps = []
    for element in pom.dependencies:
        group, artifact = _text(element, "groupId"), _text(element, "artifactId")
        if group is None or artifact is None:
            continue
        name = context.expand(f"{group}:{artifact}")
        deps.append(_dependency(path, name, element, context))
    return deps


def _dependency(path: str, name: str, element: Element, context: _Context) -> Dependency:
    """Version and scope as declared, else as managed (here or in a parent); scope defaults to compile."""
    managed_version, managed_scope = context.managed.get(name, (None, None))
    version, scope = _text(element, "version"), _text(element, "scope")
    hints: dict[str, Any] = {}
    if version is None and managed_version is not None:
        version = managed_version
        hints["managed"] = True
    for key in ("type", "classifier"):
        value = _text(element, key)
        if value is not None and value != "jar":
            hints[key] = context.expand(value)
    if context.expand(_text(element, "optional") or "") == "true":
        hints["optional"] = True
    dep_type = context.expand(scope or managed_scope or "compile")
    return Dependency(name, context.expand(version or ""), dep_type, path, hints)
