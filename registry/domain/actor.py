"""Who a request, a CLI command or a test acts as: what every service and policy rule takes."""

from __future__ import annotations

from registry.domain.record import Record
from registry.store.users import User


class Actor(Record):
    """The user a request acts as (None: anonymous) and the scopes its credential grants.

    For a `token-sudo` request, `user` is the user acted as and `sudo_by` the site admin behind it.
    """

    user: User | None
    scopes: frozenset[str] = frozenset()
    token_id: int | None = None
    sudo_by: User | None = None


ANONYMOUS = Actor(None)
