"""Which parser reads which file.

Every ecosystem module exposes `LANGUAGE`, `matches(path)` and `parse(path, data, read)`; this
table is the one place that lists them, so the indexer (and anything reporting on languages)
never has to know the modules by name.
"""

from __future__ import annotations

from typing import Protocol

from indexer.ecosystems import go, java, npm, php, python, ruby, rust
from indexer.ecosystems.base import ParseResult, ReadFile


class EcosystemParser(Protocol):
    """The shape of an ecosystem module (modules satisfy protocols structurally)."""

    LANGUAGE: str

    def matches(self, path: str) -> bool: ...

    def parse(self, path: str, data: bytes, read: ReadFile) -> ParseResult: ...


PARSERS: tuple[EcosystemParser, ...] = (npm, python, go, rust, php, ruby, java)
SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(parser.LANGUAGE for parser in PARSERS)


def parsers_for(path: str) -> list[EcosystemParser]:
    """The parsers that read the file at `path` (repository-relative, POSIX); usually zero or one."""
    return [parser for parser in PARSERS if parser.matches(path)]
