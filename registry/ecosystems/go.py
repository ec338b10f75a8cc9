"""Go: `go.mod`.

There is no maintained Python parser for go.mod, so this is a small line parser following the
grammar of golang.org/x/mod/modfile: one directive per line (`verb args... // comment`), or a
`verb (` ... `)` block whose lines each carry the verb's arguments. Arguments may be quoted with
"..." or `...`.

What is recorded:
- `module` -> the package the repository defines (Go modules carry no version in go.mod);
- `require` -> a dependency of type `require`, or `indirect` when its comment is `// indirect`
  (the same test the go command applies), with the version verbatim as the range;
- `replace` -> attached to the requirement it replaces as hints `{"replace": new}` (plus
  `"replace_version"` when the target is a module version); a replacement restricted to a version
  (`old v1 => new`) applies only when it names the required version;
- `exclude` -> never a dependency; the excluded versions are listed in the hints of requirements
  on the same module (`{"exclude": ["v1.2.0"]}`) so the information is not lost;
- `go`, `toolchain`, `retract`, `godebug`, `tool`, `ignore` and unknown verbs -> ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from registry.ecosystems.base import Dependency, ManifestError, PackageDef, ParseResult, ReadFile

LANGUAGE = "go"

# One lexical token: a comment, a quoted string, `=>`, a parenthesis, or a bare word ("//" ends a word).
_TOKEN = re.compile(
    r"""\s*(?:(?P<comment>//.*)|(?P<str>"(?:[^"\\]|\\.)*")|(?P<raw>`[^`]*`)|(?P<arrow>=>)|(?P<paren>[()])"""
    r"""|(?P<word>(?:[^\s()"`/=]|/(?!/)|=(?!>))+))"""
)


@dataclass
class _Line:
    tokens: list[str]
    comment: str


@dataclass
class _Replace:
    version: str | None
    new_path: str
    new_version: str | None


@dataclass
class _Module:
    """What the directives say, gathered before dependencies are built (replace may follow require)."""

    path: str | None = None
    requires: list[tuple[str, str, bool]] = field(default_factory=list)
    replaces: dict[str, list[_Replace]] = field(default_factory=dict)
    excludes: dict[str, list[str]] = field(default_factory=dict)


def matches(path: str) -> bool:
    return path.split("/")[-1] == "go.mod"


def parse(path: str, data: bytes, read: ReadFile) -> ParseResult:
    """Directives of one go.mod; replacements pointing at local directories are not followed."""
    del read
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: go.mod is not valid UTF-8: {exc}") from exc
    module = _Module()
    for verb, args, comment, lineno in _directives(path, text):
        _apply(module, path, verb, args, comment, lineno)
    packages = [PackageDef(module.path, None, path)] if module.path else []
    return ParseResult(LANGUAGE, packages, _dependencies(module, path))


def _lex(path: str, line: str, lineno: int) -> _Line:
    tokens: list[str] = []
    comment = ""
    pos = _skip_space(line, 0)
    while pos < len(line):
        match = _TOKEN.match(line, pos)
        if match is None or match.end() == pos:
            raise ManifestError(f"{path}:{lineno}: cannot read {line[pos : pos + 60].strip()!r}")
        if match.group("comment") is not None:
            comment = match.group("comment")
            break
        tokens.append(_unquote(path, lineno, match.group(match.lastgroup or "word")))
        pos = _skip_space(line, match.end())
    return _Line(tokens, comment)


def _skip_space(line: str, pos: int) -> int:
    while pos < len(line) and line[pos].isspace():
        pos += 1
    return pos


def _unquote(path: str, lineno: int, token: str) -> str:
    """Go's interpreted strings are close enough to JSON strings for module paths and versions."""
    if token.startswith("`"):
        return token[1:-1]
    if token.startswith('"'):
        try:
            value = json.loads(token)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{path}:{lineno}: bad quoted string {token:.80}") from exc
        return str(value)
    return token


def _directives(path: str, text: str) -> list[tuple[str, list[str], str, int]]:
    """Flatten blocks: `require ( a v1 \\n b v2 )` becomes two `require` directives."""
    out: list[tuple[str, list[str], str, int]] = []
    block: str | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = _lex(path, raw, lineno)
        if not line.tokens:
            continue
        if block is not None:
            if line.tokens == [")"]:
                block = None
            else:
                out.append((block, line.tokens, line.comment, lineno))
        elif line.tokens[1:] == ["("]:
            block = line.tokens[0]
        elif line.tokens[1:] == ["(", ")"]:
            continue  # `require ()`: an empty block
        elif line.tokens[0] in ("(", ")"):
            raise ManifestError(f"{path}:{lineno}: unexpected {line.tokens[0]!r}")
        else:
            out.append((line.tokens[0], line.tokens[1:], line.comment, lineno))
    if block is not None:
        raise ManifestError(f"{path}: `{block:.40} (` block is never closed")
    return out


def _apply(module: _Module, path: str, verb: str, args: list[str], comment: str, lineno: int) -> None:
    if any(arg in ("(", ")") for arg in args):
        raise ManifestError(f"{path}:{lineno}: unexpected parenthesis in {verb:.40}")
    if verb == "module":
        _expect(path, lineno, verb, args, 1)
        module.path = args[0]
    elif verb == "require":
        _expect(path, lineno, verb, args, 2)
        module.requires.append((args[0], args[1], _is_indirect(comment)))
    elif verb == "exclude":
        _expect(path, lineno, verb, args, 2)
        module.excludes.setdefault(args[0], []).append(args[1])
    elif verb == "replace":
        old, replace = _replacement(path, lineno, args)
        module.replaces.setdefault(old, []).append(replace)


def _expect(path: str, lineno: int, verb: str, args: list[str], count: int) -> None:
    if len(args) != count:
        raise ManifestError(f"{path}:{lineno}: {verb} takes {count} argument(s), got {len(args)}: {' '.join(args):.80}")


def _replacement(path: str, lineno: int, args: list[str]) -> tuple[str, _Replace]:
    """`old [version] => new [version]`; a local directory target has no version."""
    if "=>" not in args:
        raise ManifestError(f"{path}:{lineno}: replace without =>")
    arrow = args.index("=>")
    left, right = args[:arrow], args[arrow + 1 :]
    if len(left) not in (1, 2) or len(right) not in (1, 2):
        raise ManifestError(f"{path}:{lineno}: replace must be `old [version] => new [version]`")
    old_version = left[1] if len(left) == 2 else None
    new_version = right[1] if len(right) == 2 else None
    return left[0], _Replace(old_version, right[0], new_version)


def _is_indirect(comment: str) -> bool:
    """The go command's rule: the comment is exactly `indirect`, or starts with `indirect;`."""
    text = comment.removeprefix("//").strip()
    return text == "indirect" or text.startswith("indirect;")


def _dependencies(module: _Module, path: str) -> list[Dependency]:
    deps = []
    for name, version, indirect in module.requires:
        hints = _replace_hints(module.replaces.get(name, []), version)
        if name in module.excludes:
            hints["exclude"] = list(module.excludes[name])
        deps.append(Dependency(name, version, "indirect" if indirect else "require", path, hints))
    return deps


def _replace_hints(replaces: list[_Replace], version: str) -> dict[str, Any]:
    """A version-specific replacement wins over a path-wide one, as in the go command."""
    exact = [r for r in replaces if r.version == version]
    chosen = exact or [r for r in replaces if r.version is None]
    if not chosen:
        return {}
    replace = chosen[-1]
    hints: dict[str, Any] = {"replace": replace.new_path}
    if replace.new_version is not None:
        hints["replace_version"] = replace.new_version
    return hints
