"""A `registry serve` child whose output goes to a file, so a chatty server never blocks on a
full pipe, and whose output can be read while it runs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from testkit.processes import REPO_ROOT, Server
from tests.support.factories import UserFixture, make_token, make_user


@dataclass
class LoggedServer(Server):
    log_path: Path = field(default_factory=lambda: Path(tempfile.mkstemp(prefix="wharf-serve-", suffix=".log")[1]))

    def start(self) -> LoggedServer:
        with self.log_path.open("ab") as sink:
            self.process = subprocess.Popen(  # type: ignore[assignment]
                [sys.executable, "-m", "registry", "serve", *self._port_args(), *self.args],
                env=self.env,
                cwd=REPO_ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        return self

    def stop(self, sig: int = 15, timeout: float = 30.0) -> str:
        super().stop(sig, timeout)
        self.output = self.log()
        return self.output

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def remove_log(self) -> None:
        self.log_path.unlink(missing_ok=True)


def arrange_user(dsn: str, username: str, *, site_admin: bool = False, scopes: tuple[str, ...] = ()) -> UserFixture:
    """A user (password `tests.support.factories.PASSWORD`) with a user:all token, plus one token
    with `scopes` when given (its value replaces the fixture's token)."""

    async def arrange() -> UserFixture:
        conn = await asyncpg.connect(dsn)
        try:
            user = await make_user(conn, username, site_admin=site_admin)
            if scopes:
                user = UserFixture(user.id, user.username, await make_token(conn, user.id, scopes))
            return user
        finally:
            await conn.close()

    return asyncio.run(arrange())
