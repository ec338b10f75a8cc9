"""The query parameters of the resolved dependents (`/api/dependents?resolved=true`, its summary
and the web page), read in one place. No routes here: the package index's handlers and the pages
call it, and route modules never import each other."""

from __future__ import annotations

from collections.abc import Mapping

from registry.domain.errors import BadRequest
from registry.ecosystems import Ecosystem
from registry.services.resolved import ResolvedQuery, check_version

_MAX_VERSION = 256
_BOOLEANS = {"true": True, "false": False}


def flag(params: Mapping[str, str], name: str) -> bool | None:
    """`name=true|false`, None when absent; anything else is a 400 naming the parameter."""
    value = params.get(name)
    if value is None:
        return None
    if value not in _BOOLEANS:
        raise BadRequest(f"{name} must be true or false.")
    return _BOOLEANS[value]


def resolved_query(params: Mapping[str, str], ecosystem: Ecosystem, package: str) -> ResolvedQuery | None:
    """The resolved question asked, or None when `resolved` is absent or false (the declared
    dependents, as before). `direct` and `dev` only mean something about resolved rows."""
    if not flag(params, "resolved"):
        if flag(params, "direct") is not None or flag(params, "dev") is not None:
            raise BadRequest("direct and dev filter resolved dependents: add resolved=true.")
        return None
    return resolved_question(params, ecosystem, package)


def resolved_question(params: Mapping[str, str], ecosystem: Ecosystem, package: str) -> ResolvedQuery:
    """`version` (checked by the ecosystem's rules), `direct` and `dev` of a resolved question."""
    version = params.get("version")
    if version is not None:
        if not 0 < len(version) <= _MAX_VERSION:
            raise BadRequest(f"version must be 1 to {_MAX_VERSION} characters.")
        check_version(ecosystem, version)
    return ResolvedQuery(
        ecosystem=ecosystem, package=package, version=version, direct=flag(params, "direct"), dev=flag(params, "dev")
    )
