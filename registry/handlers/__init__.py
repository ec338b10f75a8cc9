"""HTTP handlers, one module per domain; each parses, authorizes, and calls its store.

Every module here that defines a `RouteTableDef` named `routes` is mounted by the app factory:
adding a domain is adding a module. Within a module, routes keep their declaration order (which
matters where a pattern could shadow another); across modules no route overlaps another.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from aiohttp.web import RouteTableDef  # not `web`: a handler module may be named web


def modules() -> list[ModuleType]:
    """The handler modules that define routes, in name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if isinstance(getattr(module, "routes", None), RouteTableDef):
            found.append(module)
    return found
