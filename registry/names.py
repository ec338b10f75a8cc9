"""Names of users and organizations, folded one way everywhere.

A name is ASCII: letters, digits and single inner hyphens (the CHECK constraints
`users_username_valid_chars` and `orgs_name_valid_chars`), unique case-insensitively (citext).
PostgreSQL's citext folds with the database's locale: under a UTF-8 locale `alİce` equals `alice`
(and the Kelvin sign `K` equals `k`), while Python's `str.lower()` folds them differently. A
throttle key made in Python and a lookup made in SQL would then name different users: `alİce`
signed in as alice with a failure budget of its own.

So a string that cannot be a name is refused before any lookup and before it becomes a key, and
a name's one folded form is its ASCII lower case, the same in Python and in citext under every
locale. Throttle keys, lookups and uniqueness (citext over ASCII-only names) agree.
"""

from __future__ import annotations

import re

MAX_NAME_LENGTH = 255
_NAME = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9]|-(?=[a-zA-Z0-9]))*")


def fold_name(name: str) -> str | None:
    """The folded form of a user or org name; None when `name` can never be one."""
    if len(name) > MAX_NAME_LENGTH or not _NAME.fullmatch(name):
        return None
    return name.lower()
