"""Values: what a store returns, what a service takes and answers, are frozen dataclasses.

They are declared by subclassing `Record` (`class Org(Record): …`) rather than by decorating
each: one place says that Wharf's values are immutable and compare by value, and type checkers
know a subclass is a dataclass (PEP 681). `class X(Record, kw_only=True)` makes its fields
keyword-only, as `dataclass(kw_only=True)` would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, dataclass_transform


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class Record:
    def __init_subclass__(cls, *, kw_only: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclass(frozen=True, kw_only=kw_only)(cls)
