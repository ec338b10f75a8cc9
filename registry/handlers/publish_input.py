"""Reading a publish request, JSON or multipart/form-data with the bundle and map as files, into
the publishing service's `PublishInput`.

Multipart parts are read in chunks against their own limits, so an oversized bundle is refused
(413) after at most its limit in bytes, never buffered whole.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage

from registry import appkeys
from registry.config import Config
from registry.domain.errors import BadRequest, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from registry.handlers.bodies import read_json_body
from registry.offload import WorkTimeout
from registry.services.publish_checks import PublishInput, refuse_oversized
from registry.validation import parse_checked, parse_json, refuse_unstorable

_FIELD_LIMIT = 4096
# A JSON body larger than this is parsed in a worker process: its parsing and walking could hold
# the event loop for seconds (registry.validation.parse_checked). The worker answers the parsed
# body only when it holds more than _VALUES_IN_LINE values or _REPARSED_IN_LINE bytes; else the body
# is parsed again here, which for a publish of a few long strings (a bundle and its map) costs
# 0.3 ms per MiB where carrying the parsed body back from the worker costs 2-3 ms per MiB. (From
# 4 MiB on, a fresh string costs page faults too: 15 ms for 4 MiB on a loaded machine.)
_PARSED_IN_LINE = 1 << 20
_VALUES_IN_LINE = 10_000
# Arrays and objects (and brackets in strings: a bundle's code) a body may hold and still be parsed
# on the event loop; more go to a worker process, which refuses past MAX_PUBLISH_VALUES.
_CONTAINERS_IN_LINE = 20_000
# Likewise separators (`,` and `:`, in strings too): a flat `[1,1,…]` of 1 MiB has two brackets but
# 500,000 values, which cost the event loop 0.2 s to parse and walk (measured at load 9). Counting
# them costs ~1 ms per MiB; a JSON-form bundle of real code, whose commas send it to the worker,
# pays the worker's round trip (~2-3 ms per MiB) — multipart carries a bundle without either.
_SEPARATORS_IN_LINE = 20_000
_REPARSED_IN_LINE = 2 << 20
_FLAGS = {"true": True, "1": True, "false": False, "0": False, "": False}


def _limits(config: Config) -> dict[str, int]:
    return {
        "manifest": config.max_manifest_bytes,
        "bundle": config.max_bundle_bytes,
        "source_map": config.max_source_map_bytes,
        "extension_id": _FIELD_LIMIT,
        "version": _FIELD_LIMIT,
        "tag": _FIELD_LIMIT,
        "force": _FIELD_LIMIT,
    }


async def _read_part(part: BodyPartReader, name: str, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(65536):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The {name} part is over its limit of {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def _from_multipart(
    request: web.Request, config: Config, named: Callable[[str], Awaitable[None]] | None
) -> dict[str, Any]:
    """The parts; `named` is awaited with the `extension_id` part as soon as it is read, so that
    the publisher it names is authorized before the bundle that follows it is read."""
    limits = _limits(config)
    if request.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity"):
        # The parts are read straight from the connection (registry.inflation inflates whole
        # bodies, for the JSON form): compress the bundle and map with the JSON form instead.
        raise UnsupportedMediaType("Send multipart/form-data uncompressed; a compressed release goes as JSON.")
    fields: dict[str, Any] = {}
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name not in limits:
                raise BadRequest(
                    f"Unexpected multipart part {getattr(part, 'name', None)!r}; expected {', '.join(limits)}."
                )
            if part.name in fields:
                raise BadRequest(f"The {part.name} part appears twice.")
            fields[part.name] = await _read_part(part, part.name, limits[part.name])
            if part.name == "extension_id" and named is not None:
                await named(_text_part(fields[part.name], part.name))
    except (BadHttpMessage, ValueError) as exc:  # a malformed part header, boundary or encoding
        raise BadRequest("The multipart body is malformed.") from exc
    for name in ("extension_id", "version", "tag", "force"):
        if name in fields:
            fields[name] = _text_part(fields[name], name)
    if "force" in fields:
        if fields["force"].lower() not in _FLAGS:
            raise BadRequest("The force part must be true or false.")
        fields["force"] = _FLAGS[fields["force"].lower()]
    return fields


def _text_part(value: bytes, name: str) -> str:
    try:
        text = value.decode()
    except UnicodeDecodeError:
        raise BadRequest(f"The {name} part must be UTF-8 text.") from None
    refuse_unstorable(text, f"/{name}")
    return text


async def _from_json(request: web.Request) -> dict[str, Any]:
    config = request.app[appkeys.CONFIG]
    raw = await read_json_body(request, limit=config.max_publish_bytes)
    body = await parse_publish_json(request, raw)
    request.app[appkeys.SCHEMAS].validate("PublishRequest", body)
    fields = dict(body)
    for name in ("bundle", "source_map"):
        if isinstance(fields.get(name), str):
            fields[name] = fields[name].encode()
    return fields


async def parse_publish_json(request: web.Request, raw: bytes) -> Any:
    """A publish body (REST or GraphQL) parsed and checked for what PostgreSQL cannot store: in
    line when small, in a worker process when large (parse_checked)."""
    if (
        len(raw) <= _PARSED_IN_LINE
        and raw.count(b"[") + raw.count(b"{") <= _CONTAINERS_IN_LINE
        and raw.count(b",") + raw.count(b":") <= _SEPARATORS_IN_LINE
    ):
        body = parse_json(raw)
        refuse_unstorable(body)
        return body
    config = request.app[appkeys.CONFIG]
    keep = _VALUES_IN_LINE if len(raw) <= _REPARSED_IN_LINE else None
    try:
        body, refused = await request.app[appkeys.PARSERS].run(parse_checked, raw, config.max_manifest_bytes, keep)
    except WorkTimeout:
        raise PayloadTooLarge("The request body took too long to parse; send the release as multipart.") from None
    if refused is not None:
        status, pointer, message = refused
        if status == 400:
            raise BadRequest(message)
        if status == 413:
            raise PayloadTooLarge(message)
        raise Unprocessable.at(pointer, message)
    if body is None:  # checked there, with few values: parsed here again rather than carried back
        return parse_json(raw)
    return body


async def read_publish_input(
    request: web.Request, extension_id: str | None, *, named: Callable[[str], Awaitable[None]] | None = None
) -> PublishInput:
    """The publish request, whichever form it came in; sizes checked against the limits. For a
    multipart body, `named` sees the `extension_id` part before the parts after it are read."""
    config = request.app[appkeys.CONFIG]
    if request.content_type == "multipart/form-data":
        fields = await _from_multipart(request, config, named)
    elif request.content_type == "application/json":
        fields = await _from_json(request)
    else:
        raise UnsupportedMediaType("Send the release as application/json or multipart/form-data.")
    if "manifest" not in fields or "bundle" not in fields:
        missing = [name for name in ("manifest", "bundle") if name not in fields]
        raise Unprocessable(
            f"The request is missing {', '.join(missing)}.",
            errors=[{"pointer": f"/{name}", "message": "is required"} for name in missing],
        )
    refuse_oversized(config, fields["bundle"], fields.get("source_map"))
    return PublishInput(
        extension_id=extension_id or fields.get("extension_id"),
        manifest=fields["manifest"],
        bundle=fields["bundle"],
        source_map=fields.get("source_map"),
        version=fields.get("version"),
        tag=fields.get("tag") or "release",
        force=bool(fields.get("force", False)),
    )
