"""The README is the manual: it must stay true to the code and to CI."""

from __future__ import annotations

import re

from registry.config import SETTINGS, Config
from testkit.processes import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def _commands() -> list[str]:
    return re.findall(r"```sh\n(python3 -m venv[^\n]+)\n```", README)


def test_every_setting_is_in_the_configuration_table() -> None:
    missing = [s.env for s in SETTINGS if not re.search(rf"^\| `{s.env}` \|", README, re.MULTILINE)]
    assert missing == []


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    commands = _commands()
    assert len(commands) == 2, "the README opens with two commands: run the server, run the tests"
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci.splitlines()
    assert "serve" in commands[0]


def _as_documented(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def test_the_configuration_table_shows_each_plain_default() -> None:
    """Defaults live on `Config` alone; the table must say the same (a number, a word, a host)."""
    defaults = {s.env: getattr(Config(), s.field) for s in SETTINGS if s.field}
    plain = {env: _as_documented(value) for env, value in defaults.items() if isinstance(value, int | float | str)}
    shown = dict(re.findall(r"^\| `([A-Z_]+)` \| `([^`]*)` \|", README, re.MULTILINE))
    assert {env: shown.get(env) for env in plain} == plain
