"""Extension manifests: parsed, size-capped, validated against schemas/extension.schema.json.

The validator is compiled once per app. Violations carry JSON pointers into the request body
(`/manifest/...`), worded without echoing the submitted values.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import orjson
from jsonschema import Draft202012Validator

from registry.domain.errors import PayloadTooLarge, Unprocessable
from registry.domain.record import Record
from registry.resources import schemas_dir
from registry.validation import SchemaValidator, describe_violation, format_checker, refuse_unstorable, violations

CATEGORIES_KEY = "categories"


class Manifest(Record):
    """A valid manifest: its data, the text stored, and a fingerprint independent of key order
    and whitespace (so an identical re-publish is recognised however the client serialised it)."""

    data: dict[str, Any]
    text: str
    sha256: bytes

    @property
    def title(self) -> str | None:
        return self.data.get("title")

    @property
    def description(self) -> str | None:
        return self.data.get("description")

    @property
    def categories(self) -> list[str]:
        return list(self.data.get(CATEGORIES_KEY, []))

    @property
    def tags(self) -> list[str]:
        return list(self.data.get("tags", []))

    @property
    def wip(self) -> bool:
        """Work in progress, as Sourcegraph decided it: `wip: true`, or a title marked WIP."""
        title = self.title or ""
        return self.data.get("wip") is True or title.startswith(("WIP:", "[WIP]"))


def _invalid(pointer: str, message: str) -> Unprocessable:
    return Unprocessable(
        f"The manifest is invalid: {pointer} {message}.", errors=[{"pointer": pointer, "message": message}]
    )


MAX_MANIFEST_BRACKETS = 50_000
"""`[` and `{` a manifest sent as text may hold (a real one has hundreds; brackets in its strings
count too): 330,000 empty arrays in under 1 MiB cost the event loop 0.5 s to parse, walk and
validate; 50,000 cost it well under the 100 ms docs/RELIABILITY.md allows."""


def _brackets(raw: str | bytes) -> int:
    """Counted at C speed, before anything parses the text."""
    return raw.count("[") + raw.count("{") if isinstance(raw, str) else raw.count(b"[") + raw.count(b"{")


@functools.cache
def _manifest_schema() -> dict[str, Any]:
    """The extension schema, checked once per process: checking it is 37 ms of every app's start
    (each test's), and the file never changes under a running process."""
    schema: dict[str, Any] = orjson.loads((schemas_dir() / "extension.schema.json").read_bytes())
    Draft202012Validator.check_schema(schema)
    return schema


class ManifestValidator:
    def __init__(self, max_bytes: int) -> None:
        self._validator = SchemaValidator(_manifest_schema(), format_checker=format_checker())
        self.max_bytes = max_bytes

    def parse(self, raw: Any, pointer: str = "/manifest") -> Manifest:
        """A manifest given as a JSON object or as a JSON string holding one."""
        if isinstance(raw, str | bytes):
            if len(raw) > self.max_bytes:
                raise PayloadTooLarge(f"The manifest is {len(raw)} bytes; the limit is {self.max_bytes}.")
            if _brackets(raw) > MAX_MANIFEST_BRACKETS:
                raise PayloadTooLarge(f"The manifest holds more than {MAX_MANIFEST_BRACKETS} arrays and objects.")
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise _invalid(pointer, "is not valid JSON") from None
            refuse_unstorable(data, pointer)
            text = raw.decode() if isinstance(raw, bytes) else raw
        else:
            data = raw
            refuse_unstorable(data, pointer)  # before orjson, which stops at 255 levels
            text = orjson.dumps(raw).decode() if isinstance(raw, dict) else ""
        if not isinstance(data, dict):
            raise _invalid(pointer, "must be a JSON object")
        if len(text.encode()) > self.max_bytes:
            raise PayloadTooLarge(f"The manifest is over the limit of {self.max_bytes} bytes.")
        errors = violations(self._validator, data)
        if errors:
            described = []
            for error in errors:
                where, message = describe_violation(error)
                described.append({"pointer": pointer + where, "message": message})
            first = described[0]
            raise Unprocessable(f"The manifest is invalid: {first['pointer']} {first['message']}.", errors=described)
        fingerprint = hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).digest()
        return Manifest(data, text, fingerprint)


def publication_warnings(manifest: Manifest, *, has_source_map: bool) -> list[dict[str, str]]:
    """What `src extensions publish` would warn about; each blocks publication unless forced."""
    warnings = []
    if not has_source_map:
        warnings.append({"pointer": "/source_map", "message": "no source map: stack traces will be unreadable"})
    if "repository" not in manifest.data:
        warnings.append({"pointer": "/manifest/repository", "message": "no repository: users cannot find the source"})
    if not manifest.description:
        warnings.append({"pointer": "/manifest/description", "message": "no description: the listing will be bare"})
    if "url" in manifest.data:
        warnings.append(
            {
                "pointer": "/manifest/url",
                "message": "url points elsewhere: clients will fetch the bundle from there, not here",
            }
        )
    return warnings
