"""One `registry serve` for a whole test module, on a database of the module's own."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from testkit.databases import DatabaseServer
from testkit.processes import Server, command_env


@contextmanager
def module_server(
    database_server: DatabaseServer, template_database: str, fill: Callable[[str], Awaitable[None]], **env: str
) -> Iterator[Server]:
    """A copy of the template, filled by `fill(dsn)`, served until the module is done (then dropped):
    starting a server costs seconds, which every test of a CLI module would otherwise pay."""
    name = asyncio.run(database_server.copy_of(template_database))
    dsn = database_server.dsn(name)
    asyncio.run(fill(dsn))
    running = Server([], command_env(dsn, WHARF_ACCESS_LOG="false", **env)).start()
    try:
        running.wait_for("/readyz", 200)
        yield running
    finally:
        running.stop()
        asyncio.run(database_server.drop(name))
