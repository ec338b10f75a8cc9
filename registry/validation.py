"""Request bodies: read as JSON, validated against the OpenAPI document's own schemas.

The OpenAPI document (schemas/openapi.json) is the single description of every request body;
the validators are compiled from its `components.schemas` once, when the app is built. Every
violation is reported with a JSON pointer into the body (422), in words that never echo the
submitted value back (it may be a password).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson
from aiohttp import web
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from registry.errors import BadRequest, PayloadTooLarge, Unprocessable, UnsupportedMediaType

_DOCUMENT_URI = "urn:wharf:openapi"


def _pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def describe_violation(error: ValidationError) -> tuple[str, str]:
    """(pointer, message) for one violation, phrased without the offending value."""
    path = list(error.absolute_path)
    value: Any = error.validator_value
    schema: Any = error.schema
    if error.validator == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        missing = next((name for name in value if name not in instance), "")
        return _pointer([*path, missing]), "is required"
    if error.validator == "additionalProperties":
        instance = error.instance if isinstance(error.instance, dict) else {}
        allowed = set(schema.get("properties", {})) if isinstance(schema, dict) else set()
        extra = sorted(name for name in instance if name not in allowed)
        return _pointer(path), f"unknown properties: {', '.join(extra)}"
    phrases: dict[str, Callable[[Any], str]] = {
        "type": lambda v: f"must be of type {v if isinstance(v, str) else ' or '.join(map(str, v))}",
        "minLength": lambda v: f"must be at least {v} characters long",
        "maxLength": lambda v: f"must be at most {v} characters long",
        "pattern": lambda v: f"must match the pattern {v}",
        "enum": lambda v: f"must be one of: {', '.join(map(str, v))}",
        "const": lambda v: f"must be {v!r}",
        "minItems": lambda v: f"must have at least {v} item(s)",
        "maxItems": lambda v: f"must have at most {v} item(s)",
        "uniqueItems": lambda v: "must not repeat an item",
        "minimum": lambda v: f"must be at least {v}",
        "maximum": lambda v: f"must be at most {v}",
        "format": lambda v: f"must be a valid {v}",
        "minProperties": lambda v: f"must have at least {v} properties",
    }
    phrase = phrases.get(str(error.validator))
    message = phrase(value) if phrase is not None else error.message[:200]
    return _pointer(path), message


class RequestSchemas:
    """Compiled validators for the OpenAPI document's component schemas, by name."""

    def __init__(self, openapi: dict[str, Any]) -> None:
        resource = Resource.from_contents(dict(openapi), default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_DOCUMENT_URI, resource)
        self._validators: dict[str, Draft202012Validator] = {}
        for name in openapi.get("components", {}).get("schemas", {}):
            self._validators[name] = Draft202012Validator(
                {"$ref": f"{_DOCUMENT_URI}#/components/schemas/{name}"},
                registry=self._registry,
                format_checker=FormatChecker(),
            )

    def validate(self, name: str, body: Any) -> None:
        """Raise 422 listing every violation of schema `name`, each with its pointer."""
        errors = sorted(self._validators[name].iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            described = [dict(zip(("pointer", "message"), describe_violation(error), strict=True)) for error in errors]
            first = described[0]
            raise Unprocessable(
                f"The request body is invalid: {first['pointer'] or '(body)'} {first['message']}.",
                errors=described,
            )


def nul_pointer(value: Any, parts: tuple[Any, ...] = ()) -> str | None:
    """The JSON pointer of the first string (or key) in `value` holding a NUL character, which no
    PostgreSQL text or jsonb value can store; None when there is none."""
    if isinstance(value, str):
        return _pointer(parts) if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return _pointer((*parts, key))
            if (found := nul_pointer(item, (*parts, key))) is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if (found := nul_pointer(item, (*parts, index))) is not None:
                return found
    return None


def refuse_nul(body: Any) -> None:
    """422 when the body holds a NUL character anywhere (before it reaches the database as a 500)."""
    pointer = nul_pointer(body)
    if pointer is not None:
        raise Unprocessable.at(pointer, "contains a NUL character")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit`: from Content-Length
    before reading anything, else after reading at most `limit` + 1 bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"The request body is {request.content_length} bytes; the limit is {limit}.")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(65536):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is over the limit of {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: web.Request, limit: int) -> Any:
    """The body as JSON; 415 for another content type, 413 over `limit`, 400 when it does not parse."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType(f"Send the body as application/json (got {request.content_type or 'nothing'}).")
    raw = await read_body(request, limit)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc.msg} at position {exc.pos}.") from exc
