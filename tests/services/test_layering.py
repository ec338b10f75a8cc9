"""The services and the domain types are pure of HTTP: the CLI, the GraphQL endpoint and the
tests use them without a web server, and no rule can depend on a request."""

from __future__ import annotations

import subprocess
import sys

from registry.services import Services


def test_services_and_domain_import_no_web_framework() -> None:
    probe = (
        "import sys, pkgutil, importlib, registry.services, registry.domain\n"
        "for package in (registry.services, registry.domain):\n"
        "    for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "web = sorted(m for m in sys.modules if m == 'aiohttp' or m.startswith('aiohttp.'))\n"
        "print(','.join(web))\n"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert found == "", f"registry.services or registry.domain imports aiohttp (through: {found})"


async def test_services_reach_the_database_without_a_request(services: Services) -> None:
    async with services.db.reading() as conn:
        assert await conn.fetchval("SELECT count(*) FROM users") == 0
