"""Ruby: Bundler's `Gemfile` (also `gems.rb` and Appraisal's `*.gemfile`).

A Gemfile is Ruby code and is never evaluated. This is a small, careful reader of the subset
Bundler's DSL uses: `gem "name", "range", ..., key: value` calls (parenthesised or not, options in
either hash syntax), `group ... do`, `platforms ... do`, `source/git/github/path ... do` blocks,
`if`/`unless`/`case` blocks and trailing modifiers, `;`-separated statements, comments, and calls
continued over several lines. Anything else (`source`, `gemspec`, `ruby`, `eval_gemfile`, ...)
defines no dependency and is skipped; a Gemfile defines no package (that is the gemspec's job).

dep_type is `runtime` outside any group, else the group names joined with "," (`development,test`).
Constraints are stored verbatim, several joined with ", ". Values that are Ruby expressions
(`ENV["X"]`, `File.expand_path(...)`) are kept as their source text in hints, and conditions
guarding a gem go to hints as `conditions`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from registry.domain.record import Record
from registry.ecosystems.base import Dependency, ManifestError, ParseResult, ReadFile

LANGUAGE = "ruby"

_HEAD = re.compile(r"^([A-Za-z_]\w*[?!]?)(.*)$", re.DOTALL)
_DO = re.compile(r"\bdo(?:\s*\|[^|]*\|)?\s*$")
_BLOCK_WORDS = {"if", "unless", "case", "while", "until", "begin", "def", "class", "module", "for"}
_ASSIGNED_BLOCK = re.compile(r"(?<![=!<>])=\s*(?:if|unless|case|begin)\b")
_BRANCH_WORDS = {"else", "elsif", "when", "in", "rescue", "ensure", "then"}
_MODIFIER = re.compile(r"\s(?:if|unless)\s")
_NEW_OPTION = re.compile(r"^\s*(?:([A-Za-z_]\w*)|\"(\w+)\"|'(\w+)'):(?!:)\s*(.+)$", re.DOTALL)
_OLD_OPTION = re.compile(r"^\s*(?::([A-Za-z_]\w*)|:?\"(\w+)\"|:?'(\w+)')\s*=>\s*(.+)$", re.DOTALL)
_DOUBLE = re.compile(r'^"((?:[^"\\]|\\.)*)"$', re.DOTALL)
_SINGLE = re.compile(r"^'((?:[^'\\]|\\.)*)'$", re.DOTALL)
_SYMBOL = re.compile(r"^:([A-Za-z_]\w*[?!]?)$")
_WORDS = re.compile(r"^%[wi]([\[({<])(.*)[\])}>]$", re.DOTALL)
_CONTINUED = (",", "\\", "||", "&&", "=>", "+", ".")


@dataclass
class _Frame:
    """One open block: the groups/platforms/source it sets for the gems inside, and its condition."""

    groups: tuple[str, ...] = ()
    hints: dict[str, Any] = field(default_factory=dict)
    condition: str | None = None


def matches(path: str) -> bool:
    name = path.split("/")[-1]
    return name in ("Gemfile", "gems.rb") or name.endswith(".gemfile")


def parse(path: str, data: bytes, read: ReadFile) -> ParseResult:
    """Every `gem` call with the groups, platforms, sources and conditions of the blocks around it."""
    del read  # `eval_gemfile` and `gemspec` point elsewhere, but those files are not Gemfile syntax to follow
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: Gemfile is not valid UTF-8: {exc}") from exc
    stack: list[_Frame] = []
    deps: list[Dependency] = []
    for statement, lineno in _statements(path, text):
        try:
            dep = _statement(path, statement, lineno, stack)
        except RecursionError as exc:  # absurdly nested literals
            raise ManifestError(f"{path}:{lineno}: nesting too deep") from exc
        if dep is not None:
            deps.append(dep)
    if stack:
        raise ManifestError(f"{path}: {len(stack)} block(s) never closed with `end`")
    return ParseResult(LANGUAGE, [], deps)


# --- lexical layer: strings, brackets, comments, statements ------------------------------------


def _scan(text: str, quote: str | None = None, depth: int = 0) -> tuple[list[tuple[bool, int]], str | None, int]:
    """Per character (inside a string literal?, bracket depth), starting from an open `quote`/`depth`;
    plus the quote still open and the depth at the end, so that a long statement is scanned line by line.
    """
    marks: list[tuple[bool, int]] = []
    escaped = False
    for char in text:
        if quote is not None:
            marks.append((True, depth))
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
            continue
        if char in "\"'`":
            quote = char
            marks.append((True, depth))
            continue
        depth += char in "([{"
        marks.append((False, depth))
        depth -= char in ")]}"
    return marks, quote, depth


def _strip_comment(line: str, quote: str | None, depth: int) -> tuple[str, str | None, int]:
    """The line without its `#` comment, and the scan state after it."""
    marks, end_quote, end_depth = _scan(line, quote, depth)
    cut = next((i for i, char in enumerate(line) if char == "#" and not marks[i][0]), None)
    if cut is None:
        return line, end_quote, end_depth
    _, end_quote, end_depth = _scan(line[:cut], quote, depth)
    return line[:cut], end_quote, end_depth


def _split_top(text: str, separator: str) -> list[str]:
    """Split on `separator` where it is outside strings and brackets."""
    marks, _, _ = _scan(text)
    parts, start = [], 0
    for i, char in enumerate(text):
        if char == separator and marks[i] == (False, 0):
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def _statements(path: str, text: str) -> Iterator[tuple[str, int]]:
    """Logical statements: lines joined while a string/bracket is open or the line ends in `,` `\\` `||` ..."""
    pending: list[str] = []
    quote: str | None = None
    depth, start, in_doc = 0, 0, False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not pending and (in_doc or raw.startswith("=begin")):
            in_doc = not raw.startswith("=end")
            continue
        if not pending and raw.strip() == "__END__":
            return
        start = start if pending else lineno
        line, quote, depth = _strip_comment(raw, quote, depth)
        line = line.rstrip()
        if quote is not None or depth > 0 or line.endswith(_CONTINUED) or (pending and not line.strip()):
            pending.append(line.removesuffix("\\"))
            continue
        statement = "\n".join([*pending, line])
        pending, depth = [], 0
        yield from ((part, start) for part in _split_top(statement, ";"))
    if pending:
        raise ManifestError(f"{path}:{start}: statement never ends (unclosed string or bracket)")


# --- statements ----------------------------------------------------------------------------------


def _statement(path: str, statement: str, lineno: int, stack: list[_Frame]) -> Dependency | None:
    """Track blocks (push on `do`/`if`/..., pop on `end`) and turn `gem` calls into dependencies."""
    head = _HEAD.match(statement)
    word, rest = (head.group(1), head.group(2)) if head else ("", statement)
    if word == "end":
        if not stack:
            raise ManifestError(f"{path}:{lineno}: `end` without an open block")
        stack.pop()
    elif word in _BRANCH_WORDS:
        if stack and stack[-1].condition is not None:
            stack[-1].condition = statement
    elif (do := _block_do(statement)) is not None:
        stack.append(_block_frame(word, statement[len(word) : do]))
    elif (word in _BLOCK_WORDS or _ASSIGNED_BLOCK.search(statement)) and not re.search(r"\bend$", statement):
        stack.append(_Frame(condition=statement if word in ("if", "unless") else None))
    elif word == "gem":
        return _gem(path, rest, stack)
    return None


def _block_do(statement: str) -> int | None:
    """Where a trailing `do` / `do |args|` starts, if it is code rather than inside a string."""
    match = _DO.search(statement)
    if match is None or _scan(statement)[0][match.start()][0]:
        return None
    return match.start()


def _block_frame(word: str, header: str) -> _Frame:
    """What a `do` block sets for the gems inside it, from its call's arguments."""
    positional, options = _arguments(_unparen(header))
    names = [str(value) for value in positional if isinstance(value, str)]
    if word == "group":  # `optional: true` groups are skipped by `bundle install` unless asked for
        return _Frame(groups=tuple(names), hints={"optional": True} if options.get("optional") is True else {})
    if word in ("platforms", "platform"):
        return _Frame(hints={"platforms": names})
    if word in ("source", "git", "github", "path") and names:
        hints = {("local_path" if word == "path" else word): names[0]}
        hints.update({key: _plain(value) for key, value in options.items() if key in ("branch", "tag", "ref")})
        return _Frame(hints=hints)
    return _Frame()


def _gem(path: str, rest: str, stack: list[_Frame]) -> Dependency | None:
    """`gem "name", "constraint", ..., option: value [if/unless condition]`; a name that is not a literal is skipped."""
    body, modifier = _split_modifier(rest)
    args = _split_top(_unparen(body), ",")
    name = _string(args[0]) if args else None
    if not name:
        return None
    positional, options = _arguments(", ".join(args[1:]))
    constraints = [value for value in positional if isinstance(value, str)]
    # Bundler adds a gem's own `group:` to the enclosing blocks' groups, and likewise for platforms.
    groups = [group for frame in stack for group in frame.groups]
    groups += _names(options.pop("group", None)) + _names(options.pop("groups", None))
    hints = _hints(stack, options, modifier)
    dynamic = [value.expression for value in positional if isinstance(value, _Expression)]
    if dynamic:
        hints["dynamic_version"] = ", ".join(dynamic)
    dep_type = ",".join(dict.fromkeys(groups)) or "runtime"
    return Dependency(name, ", ".join(constraints), dep_type, path, hints)


def _hints(stack: list[_Frame], options: dict[str, Any], modifier: str | None) -> dict[str, Any]:
    """Sources, platforms and conditions from the enclosing blocks, then the gem's own options."""
    hints: dict[str, Any] = {}
    for frame in stack:
        hints.update({key: value for key, value in frame.hints.items() if key != "platforms"})
    platforms = [name for frame in stack for name in frame.hints.get("platforms", [])]
    platforms += _names(options.pop("platforms", None)) + _names(options.pop("platform", None))
    if platforms:
        hints["platforms"] = list(dict.fromkeys(platforms))
    hints.update({("local_path" if key == "path" else key): _plain(value) for key, value in options.items()})
    conditions = [frame.condition for frame in stack if frame.condition] + ([modifier] if modifier else [])
    if conditions:
        hints["conditions"] = conditions
    return hints


# --- arguments and values --------------------------------------------------------------------------


class _Expression(Record):
    """A Ruby expression we do not evaluate, kept as written."""

    expression: str


def _unparen(text: str) -> str:
    text = text.strip()
    if text.startswith("(") and text.endswith(")") and _split_top(text, ",") == [text]:
        return text[1:-1]
    return text


def _split_modifier(text: str) -> tuple[str, str | None]:
    """`gem "x" if cond` -> ("gem \"x\"", "if cond"): the first top-level `if`/`unless` is a modifier."""
    marks, _, _ = _scan(text)
    for match in _MODIFIER.finditer(text):
        if marks[match.start()] == (False, 0):
            return text[: match.start()], text[match.start() :].strip()
    return text, None


def _arguments(text: str) -> tuple[list[Any], dict[str, Any]]:
    """Positional values and `key: value` / `:key => value` options of a call."""
    positional: list[Any] = []
    options: dict[str, Any] = {}
    for arg in _split_top(text, ","):
        option = _NEW_OPTION.match(arg) or _OLD_OPTION.match(arg)
        if option and not _string(arg):
            key = next(group for group in option.groups()[:3] if group)
            options[key] = _value(option.group(4))
        else:
            positional.append(_value(arg))
    return positional, options


def _value(text: str) -> Any:
    """A literal (string, symbol, boolean, nil, array, %w/%i list) as Python, anything else as an _Expression."""
    text = text.strip()
    string = _string(text)
    if string is not None:
        return string
    if _SYMBOL.match(text):
        return text[1:]
    if text.startswith(":") and _string(text[1:]) is not None:
        return _string(text[1:])
    if text in ("true", "false", "nil"):
        return {"true": True, "false": False, "nil": None}[text]
    if text.startswith("[") and text.endswith("]"):
        return [_plain(_value(item)) for item in _split_top(text[1:-1], ",")]
    words = _WORDS.match(text)
    if words:
        return words.group(2).split()
    return _Expression(text)


def _plain(value: Any) -> Any:
    return value.expression if isinstance(value, _Expression) else value


def _string(text: str) -> str | None:
    """The content of a quoted literal (`\\"`, `\\'`, `\\\\` unescaped); None if not one.

    A double-quoted string with `#{...}` is computed at run time, so it is not a literal either:
    as a gem name it is skipped, as a constraint or option it is kept as an expression.
    """
    text = text.strip()
    for pattern, quote in ((_DOUBLE, '"'), (_SINGLE, "'")):
        match = pattern.match(text)
        if match and not (quote == '"' and "#{" in match.group(1)):
            return match.group(1).replace("\\" + quote, quote).replace("\\\\", "\\")
    return None


def _names(value: Any) -> list[str]:
    """A symbol/string or a list of them, as names (options like `group: [:dev, :test]`)."""
    if isinstance(value, list):
        return [str(_plain(item)) for item in value if item is not None]
    if value is None:
        return []
    return [str(_plain(value))]
