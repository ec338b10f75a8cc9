"""Request bodies: read as JSON, validated against the OpenAPI document's own schemas.

The OpenAPI document (schemas/openapi.json) is the single description of every request body;
the validators are compiled from its `components.schemas` once, when the app is built. Every
violation is reported with a JSON pointer into the body (422), in words that never echo the
submitted value back (it may be a password).

This is also the one place that knows what PostgreSQL cannot store, so that no input reaches it
as a 500: a NUL character (text and jsonb refuse it), nesting deeper than `MAX_DEPTH` (orjson, the
jsonb codec, stops at 255 levels), an integer outside bigint, a timestamp whose year, after its
offset, falls outside 1..9999 (Python's datetime, through which asyncpg passes it). Bodies are
checked before schema validation (`refuse_unstorable`), schema strings with `format: date-time`
through `parse_timestamp`, and cursors in registry.domain.page through the same functions.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import orjson
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from registry.domain.errors import BadRequest, Unprocessable

_DOCUMENT_URI = "urn:wharf:openapi"

MAX_DEPTH = 64  # objects and arrays within each other: far more than any manifest or provider's data needs
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1  # integer, and so serial ids
URI_SCHEMES = frozenset({"http", "https"})  # what `format: uri` admits: no javascript:, data:, file:

# RFC 3339 section 5.6 (`T` and `Z` case-insensitive); datetime.fromisoformat alone takes far more.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})")
# RFC 3986 characters of a URI, percent-escapes well formed; no space, control or non-ASCII character.
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp PostgreSQL (through Python's datetime) can hold: an offset is required
    and the instant, in UTC, falls in years 1..9999. ValueError otherwise, like fromisoformat."""
    if not _RFC3339.fullmatch(text):
        raise ValueError("not an RFC 3339 timestamp with an offset")
    moment = datetime.fromisoformat(text.upper())
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("the instant falls outside years 1..9999") from None
    return moment


def parse_count(text: str, *, max_digits: int = 18) -> int | None:
    """A non-negative integer written in ASCII digits (at most `max_digits`: 18 fit a bigint), else
    None; str.isdigit alone admits "²", which int() then refuses."""
    if not (text.isascii() and text.isdigit()) or len(text) > max_digits:
        return None
    return int(text)


def _is_timestamp(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    try:
        parse_timestamp(instance)
    except ValueError:
        return False
    return True


def _is_uri(instance: object) -> bool:
    """An absolute http(s) URI with a host; jsonschema checks `uri` only with rfc3987 installed."""
    if not isinstance(instance, str):
        return True
    if not _URI.fullmatch(instance):
        return False
    parts = urlsplit(instance)
    return parts.scheme.lower() in URI_SCHEMES and bool(parts.hostname)


def format_checker() -> FormatChecker:
    """jsonschema's format checks, plus `date-time` and `uri`, which it skips without extra packages."""
    checker = FormatChecker()
    checker.checks("date-time")(_is_timestamp)
    checker.checks("uri")(_is_uri)
    return checker


@lru_cache(maxsize=512)
def whole_string_pattern(pattern: str) -> re.Pattern[str]:
    r"""A JSON Schema (ECMA-262) `pattern` for Python's re: `$` means the end of the string there, but
    before a final newline in Python, so "name\n" would pass `^[a-z]+$`. Each `$` outside a
    character class and not escaped becomes `\Z`."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append("\\Z")
            continue
        out.append(char)
    return re.compile("".join(out))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterable[ValidationError]:
    if validator.is_type(instance, "string") and not whole_string_pattern(pattern).search(instance):
        yield ValidationError(f"does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if whole_string_pattern(pattern).search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _within(limit_keyword: str, keyword: str) -> Callable[..., Iterable[ValidationError]]:
    """Draft 2020-12's `keyword`, skipped for an instance already over the schema's own bound
    (`maxItems`, `maxProperties`), which that bound reports: so validating a body costs what the
    schema admits, not what the body holds (200,000 array items took 3.8 s to report one by one)."""
    check = Draft202012Validator.VALIDATORS[keyword]

    def bounded(validator: Any, value: Any, instance: Any, schema: Any) -> Iterable[ValidationError]:
        limit = schema.get(limit_keyword)
        if isinstance(limit, int) and isinstance(instance, list | dict) and len(instance) > limit:
            return ()
        result: Iterable[ValidationError] = check(validator, value, instance, schema) or ()
        return result

    return bounded


def _is_storable_integer(checker: Any, instance: Any) -> bool:
    """JSON Schema's integer (3.0 is one, and so is 1e300), within what PostgreSQL's bigint holds."""
    is_integer = Draft202012Validator.TYPE_CHECKER.is_type(instance, "integer")
    return bool(is_integer) and BIGINT_MIN <= instance <= BIGINT_MAX


def _max_size(kind: str) -> Callable[..., Iterable[ValidationError]]:
    """maxItems, maxProperties, maxLength, worded without the instance: jsonschema's own message
    holds its repr, 20 ms for an array of 200,000 items (describe_violation words ours anyway)."""

    def check(validator: Any, limit: int, instance: Any, schema: Any) -> Iterable[ValidationError]:
        if validator.is_type(instance, kind) and len(instance) > limit:
            yield ValidationError(f"is longer than {limit}")

    return check


def _type(validator: Any, types: Any, instance: Any, schema: Any) -> Iterable[ValidationError]:
    """`type`, worded without the instance (see _max_size)."""
    names = [types] if isinstance(types, str) else list(types)
    if not any(validator.is_type(instance, name) for name in names):
        yield ValidationError(f"is not of type {', '.join(map(str, names))}")


# Draft 2020-12, with patterns matched the way JSON Schema means them (see whole_string_pattern),
# integers bounded to bigint, the keywords that walk every element skipped past the schema's
# bound (see _within), and no message holding a repr of the instance (see _max_size).
SchemaValidator: Any = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "items": _within("maxItems", "items"),
        "prefixItems": _within("maxItems", "prefixItems"),
        "contains": _within("maxItems", "contains"),
        "uniqueItems": _within("maxItems", "uniqueItems"),
        "additionalProperties": _within("maxProperties", "additionalProperties"),
        "propertyNames": _within("maxProperties", "propertyNames"),
        "maxItems": _max_size("array"),
        "maxProperties": _max_size("object"),
        "maxLength": _max_size("string"),
        "type": _type,
    },
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_storable_integer),
)
MAX_REPORTED = 100  # violations listed in one answer: enough to fix a body, bounded to describe


def violations(validator: Any, instance: Any) -> list[ValidationError]:
    """The first `MAX_REPORTED` violations, ordered by where they are."""
    found = itertools.islice(validator.iter_errors(instance), MAX_REPORTED)
    return sorted(found, key=lambda e: list(map(str, e.absolute_path)))


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
        self._validators: dict[str, Any] = {}
        checker = format_checker()
        for name in openapi.get("components", {}).get("schemas", {}):
            self._validators[name] = SchemaValidator(
                {"$ref": f"{_DOCUMENT_URI}#/components/schemas/{name}"},
                registry=self._registry,
                format_checker=checker,
            )

    def validate(self, name: str, body: Any) -> None:
        """Raise 422 listing every violation of schema `name`, each with its pointer."""
        errors = violations(self._validators[name], body)
        if errors:
            described = [dict(zip(("pointer", "message"), describe_violation(error), strict=True)) for error in errors]
            first = described[0]
            raise Unprocessable(
                f"The request body is invalid: {first['pointer'] or '(body)'} {first['message']}.",
                errors=described,
            )


def unstorable(value: Any, parts: tuple[Any, ...] = ()) -> tuple[str, str] | None:
    """(pointer, reason) of the first part of `value` PostgreSQL cannot store (see the module's
    docstring), None when there is none. Depth is checked on the way down, before anything deeper
    is looked at, so the walk itself is bounded."""
    if isinstance(value, str):
        return (_pointer(parts), "contains a NUL character") if "\x00" in value else None
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return None
    if isinstance(value, int):
        return None if BIGINT_MIN <= value <= BIGINT_MAX else (_pointer(parts), "is out of range (64-bit integer)")
    if len(parts) >= MAX_DEPTH:
        return _pointer(parts), f"is nested too deep (at most {MAX_DEPTH} levels)"
    # Scalars inside a container are checked in line, a recursive call only for what may fail or
    # nest: a 1 MiB body of 500,000 small values took 0.3 s of the event loop one call per value.
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return _pointer((*parts, key)), "contains a NUL character (in the key)"
            kind = type(item)
            if (kind is str and "\x00" not in item) or kind in _SAFE_SCALARS or _is_bigint(kind, item):
                continue
            if (found := unstorable(item, (*parts, key))) is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            kind = type(item)
            if (kind is str and "\x00" not in item) or kind in _SAFE_SCALARS or _is_bigint(kind, item):
                continue
            if (found := unstorable(item, (*parts, index))) is not None:
                return found
    return None


_SAFE_SCALARS = frozenset({bool, float, type(None)})


def _is_bigint(kind: type, item: Any) -> bool:
    return kind is int and BIGINT_MIN <= item <= BIGINT_MAX


def refuse_unstorable(body: Any, pointer: str = "") -> None:
    """422 naming the first part of `body` PostgreSQL cannot store (before it reaches it as a 500);
    `pointer` locates `body` within the request (e.g. /manifest for a manifest sent as text)."""
    found = unstorable(body)
    if found is not None:
        raise Unprocessable.at(pointer + found[0], found[1])


MAX_PUBLISH_VALUES = 100_000
"""JSON values a publish body may hold (a manifest has hundreds): a body of 330,000 empty arrays
in under 1 MiB costs 0.5 s of the event loop to parse, walk and validate, or to carry back."""


def parse_checked(
    raw: bytes, max_manifest_bytes: int, keep_values: int | None = None
) -> tuple[Any, tuple[int, str, str] | None]:
    """A large publish body parsed and checked in a worker process (registry.offload): the body,
    or (status, pointer, message) for what refuses it. 38 MB of small JSON values cost the event
    loop 0.3 s to parse and 1.4 s to walk (`unstorable`); a manifest object over its limit is
    found here too, before anything walks it again.

    With `keep_values`, a body of at most that many JSON values is checked but not answered (None
    in its place, and no refusal): the caller parses it again in line, which for a body made of a
    few long strings (a bundle and its map) costs less than carrying the parsed body back from the
    worker process (2-3 ms for 1 MiB)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return None, (400, "", f"The body is not valid JSON: {exc.msg} at position {exc.pos}.")
    found = unstorable(body)
    if found is not None:
        return None, (422, *found)
    manifest = body.get("manifest") if isinstance(body, dict) else None
    if isinstance(manifest, dict | list):
        try:
            size = len(orjson.dumps(manifest))
        except orjson.JSONEncodeError:
            size = max_manifest_bytes + 1
        if size > max_manifest_bytes:
            return None, (413, "/manifest", f"The manifest is over the limit of {max_manifest_bytes} bytes.")
    values = count_values(body, MAX_PUBLISH_VALUES)
    if values > MAX_PUBLISH_VALUES:
        return None, (413, "", f"The body holds more than {MAX_PUBLISH_VALUES} JSON values.")
    if keep_values is not None and values <= keep_values:
        return None, None
    return body, None


def count_values(value: Any, limit: int) -> int:
    """The JSON values in `value` (itself, and every item, key and member within it), counted up
    to just past `limit`, where the count stops."""
    count = 0
    pending = [value]
    while pending and count <= limit:
        item = pending.pop()
        count += 1
        if isinstance(item, dict):
            count += len(item)  # the keys
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return count


def parse_json(raw: bytes) -> Any:
    """`raw` parsed; 400 when it does not parse."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc.msg} at position {exc.pos}.") from exc
