"""Where the files that ship with Wharf (migrations, JSON Schemas) are found.

In a wheel they sit inside the package (`registry/_data`, see pyproject's force-include); in a
source checkout or an editable install they are the repository's top-level folders. Looking in
both places keeps one copy of each file in the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"Wharf's {name}/ folder is missing from this installation")


def migrations_dir() -> Path:
    """The folder of `NNNN_name.up.sql` / `.down.sql` files; `WHARF_MIGRATIONS_DIR` overrides it."""
    override = os.environ.get("WHARF_MIGRATIONS_DIR")
    return Path(override) if override else _data_dir("migrations")


def schemas_dir() -> Path:
    """The folder of JSON Schemas and the OpenAPI document."""
    return _data_dir("schemas")
