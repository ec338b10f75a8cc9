"""Sourcegraph's extension-registry protocol: the constants, names and formats its clients check.

Held to the clients' own source (sourcegraph/sourcegraph-public-snapshot,
`cmd/frontend/registry/client/client.go`; the server side in
`enterprise/cmd/frontend/internal/registry/`), not to any description of it:

* the client sends `Accept: application/vnd.sourcegraph.api+json;version=20180621` and compares
  the *response* header `X-Sourcegraph-Media-Type` with `sourcegraph.v20180621; format=json`,
  exactly, before it looks at the status; anything else is "not a valid Sourcegraph registry";
* bundle URLs are `/-/static/extension/{releaseID}-{hint}.js` with the hint made of
  `[a-zA-Z0-9-]` only and a meaningless cache-busting query; the release id is the part of the
  file name before the first `-` (`{releaseID}.map` is what the served bundle points at);
* GraphQL node ids are relay ids: base64url of `Kind:` + the JSON of the id.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime

import orjson

from registry.domain.record import Record

API_VERSION = "20180621"
ACCEPT = f"application/vnd.sourcegraph.api+json;version={API_VERSION}"
MEDIA_TYPE_HEADER = "X-Sourcegraph-Media-Type"
MEDIA_TYPE = f"sourcegraph.v{API_VERSION}; format=json"
REGISTRY_PREFIX = "/.api/registry"

_NON_LETTERS_DIGITS = re.compile(r"[^a-zA-Z0-9-]")
_BUNDLE_FILE = re.compile(r"\A(?P<id>[0-9]{1,18})(?:-[^/]{0,400})?\.(?P<suffix>js|map)\Z")
_FILTER = re.compile(r'(?:^|\s)(?P<key>category|tag):(?:"(?P<quoted>[^"]*)"|(?P<bare>\S+))')
# Keywords the Sourcegraph web app adds to a query for its own post-processing; the server
# ignores them (extension_registry.graphql, `extensions(query:)`).
_CLIENT_KEYWORDS = re.compile(r"(?:^|\s)#?(?:installed|enabled|disabled)(?=\s|$)")
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's time.Time{}: what Sourcegraph sent for "never published"


def accepts_registry_api(accept: str) -> bool:
    """Whether an Accept header asks for this API version (Sourcegraph's server wanted it exactly;
    a list that contains it is taken too)."""
    return ACCEPT in (part.replace(" ", "") for part in accept.split(","))


def bundle_hint(extension_id: str) -> str:
    """The extension id as Sourcegraph put it into bundle file names: `[^a-zA-Z0-9-]` → `-`."""
    return _NON_LETTERS_DIGITS.sub("-", extension_id)


def static_path(release_id: int, extension_id: str, suffix: str) -> str:
    """`/-/static/extension/{releaseID}-{hint}.js` (or `.map`)."""
    return f"/-/static/extension/{release_id}-{bundle_hint(extension_id)}.{suffix}"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text


def bundle_url(base: str, release_id: int, extension_id: str, created_at: datetime) -> str:
    """The bundle URL Sourcegraph wrote into a served manifest: the static path and a cache-buster
    (the release's creation time in base-36 nanoseconds, `--`, the hint), meaningless to the server."""
    nanos = int(created_at.timestamp()) * 1_000_000_000 + created_at.microsecond * 1000
    hint = bundle_hint(extension_id)
    return f"{base}{static_path(release_id, extension_id, 'js')}?{_base36(nanos)}--{hint}"


class BundleFile(Record):
    release_id: int
    kind: str  # bundle | source_map


def parse_bundle_file(name: str) -> BundleFile | None:
    """`1234-alice-word-count.js`, `1234.js`, `1234.map` → release 1234; None for anything else."""
    match = _BUNDLE_FILE.match(name)
    if match is None:
        return None
    return BundleFile(int(match["id"]), "bundle" if match["suffix"] == "js" else "source_map")


class RegistryQuery(Record):
    text: str | None
    category: str | None
    tag: str | None


def parse_query(q: str) -> RegistryQuery:
    """A query as Sourcegraph's clients write it: free text with `category:"…"` and `tag:"…"`."""
    filters: dict[str, str] = {}
    for match in _FILTER.finditer(q):
        filters[match["key"]] = match["quoted"] if match["quoted"] is not None else match["bare"]
    text = _CLIENT_KEYWORDS.sub(" ", _FILTER.sub(" ", q)).strip() or None
    return RegistryQuery(text, filters.get("category") or None, filters.get("tag") or None)


def rfc3339(moment: datetime | None) -> str | None:
    """A GraphQL DateTime as Sourcegraph marshals it: RFC 3339 in UTC, whole seconds."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def marshal_id(kind: str, value: object) -> str:
    """A relay node id: base64url(`Kind:` + JSON(value)), as graph-gophers' relay.MarshalID."""
    return base64.urlsafe_b64encode(f"{kind}:".encode() + orjson.dumps(value)).decode()


def unmarshal_id(node_id: str) -> tuple[str, object] | None:
    """The kind and value of a relay id, or None when it is not one (standard base64 accepted too)."""
    if len(node_id) > 256:
        return None
    try:
        padded = node_id + "=" * (-len(node_id) % 4)
        raw = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
        kind, _, spec = raw.decode().partition(":")
        return kind, orjson.loads(spec)
    except (binascii.Error, UnicodeDecodeError, orjson.JSONDecodeError, ValueError):
        return None


def extension_node_id(extension_pk: int) -> str:
    """`RegistryExtension` ids hold `{"l": localID}` (Sourcegraph's RegistryExtensionID)."""
    return marshal_id("RegistryExtension", {"l": extension_pk})


def extension_pk_of(node_id: str) -> int | None:
    parsed = unmarshal_id(node_id)
    if parsed is None or parsed[0] != "RegistryExtension" or not isinstance(parsed[1], dict):
        return None
    local = parsed[1].get("l")
    return local if type(local) is int and 0 < local < 2**31 else None
