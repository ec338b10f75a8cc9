"""JSONC (JSON with comments and trailing commas) read into strict JSON text, for settings.

Runs in a worker process (registry.offload), so this module imports nothing heavy: a worker
starts by importing it. The fast way drops comments and trailing commas in one linear regular
expression pass and hands the rest to orjson; json5 (pure Python: ~5 s for 60 KiB of commented
arrays here, where the fast way takes 20 ms) reads only what that cannot, JSON5's other additions,
or locates an error.
"""

from __future__ import annotations

import re
from typing import Any

import json5
import orjson

_JSON5_POSITION = re.compile(r"^<string>:(?P<line>\d+) .* at column (?P<column>\d+)")


class InvalidSettings(ValueError):
    """The text is not JSONC for a JSON object (the message says where, never what)."""


def _where(exc: Exception) -> str:
    """Where the text stopped parsing, in words that never echo the text (as validation.py does)."""
    if isinstance(exc, InvalidSettings):
        return str(exc)
    position = _JSON5_POSITION.search(str(exc))
    if position is None:
        return "does not parse"
    return f"does not parse at line {position['line']}, column {position['column']}"


def _reject_constant(name: str) -> Any:
    raise InvalidSettings(f"uses {name}, which JSON does not have")


def strict_json(value: Any) -> str:
    """`value` as strict JSON text, the parsed form kept with each version (read back by orjson)."""
    if not isinstance(value, dict):
        raise InvalidSettings("is not an object")
    try:  # what cannot be served cannot be stored
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as exc:
        raise InvalidSettings(_unencodable(str(exc))) from None


def _unencodable(reason: str) -> str:
    """Why orjson cannot write a value back, from its message (it has no error codes)."""
    if "surrogate" in reason:  # "\ud800" unpaired: JSON5 reads it, UTF-8 cannot hold it
        return "holds an unpaired UTF-16 surrogate escape (\\ud800 to \\udfff), which is no Unicode character"
    if "Integer" in reason:
        return "holds an integer over 64 bits"
    if "Recursion" in reason:
        return "nests too deeply (255 levels at most)"
    return "holds a value JSON cannot carry"


# JSONC's additions to JSON, found in one linear pass: strings are kept (a `//` inside one is no
# comment), comments and trailing commas are dropped. Possessive repeats, and strings and comments
# that match even unterminated (to the end of the line or text), so that no position is scanned
# twice (`"\\` repeated took 200 s with a backtracking string pattern). What is left malformed is
# left for orjson to refuse.
_COMMENT = r"//[^\n]*+|/\*(?:[^*]|\*(?!/))*+(?:\*/|\Z)"
_JSONC_EXTRAS = re.compile(rf'"(?:[^"\\\n]|\\.)*+["\\]?|{_COMMENT}|,(?=(?:\s|{_COMMENT})*+[}}\]])')


def _without_jsonc_extras(match: re.Match[str]) -> str:
    token = match[0]
    if token.startswith('"') or (token.startswith("/*") and (len(token) < 4 or not token.endswith("*/"))):
        return token  # a string, or an unterminated comment left for orjson to refuse
    return " " if token.startswith("/") else ""


def jsonc_to_json(text: str, max_json5_bytes: int | None) -> str:
    """JSONC as strict JSON text: comments and trailing commas dropped and the rest read by orjson;
    what that cannot read (JSON5's other additions, or an error to locate) by json5, which is pure
    Python and slow (~5 s for 60 KiB of commented arrays here, 20 ms by the first way), so only up
    to `max_json5_bytes` when that is given. Runs in a worker process (registry.offload), never on
    the event loop."""
    try:
        return strict_json(orjson.loads(_JSONC_EXTRAS.sub(_without_jsonc_extras, text)))
    except orjson.JSONDecodeError:
        pass
    if max_json5_bytes is not None and len(text.encode()) > max_json5_bytes:
        raise InvalidSettings(
            f"does not parse as JSON with comments and trailing commas (JSON5 is read up to {max_json5_bytes} bytes)"
        )
    try:
        value = json5.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise InvalidSettings("nests too deeply") from None
    except InvalidSettings:
        raise
    except ValueError as exc:
        raise InvalidSettings(_where(exc)) from None
    return strict_json(value)
