"""`registry login|whoami|publish|info|search|dependents|yank` against a real server, as CI runs them."""

from __future__ import annotations

import base64
import inspect
import json
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from registry.client.publish import PACKAGE_OPTIONS, load_package
from testkit.databases import DatabaseServer
from testkit.processes import REPO_ROOT, Server, command_env, free_port, http_get, run_cli
from tests.support.index import index_repo, scan_of
from tests.support.serving import module_server

PASSWORD = "correct horse battery"
SOURCE_MAP = '{"version":3,"sources":["extension.ts"],"names":[],"mappings":"AAAA"}'


async def _index_one_dependent(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        scan = scan_of(deps=[("npm", "left-pad", "^1.2.0")], packages=[("npm", "app", "1.0.0")])
        scan.dependencies += scan_of(
            [("npm", "left-pad", "^1.0.0")], path="tools/package.json", dep_type="devDependencies"
        ).dependencies
        await index_repo(conn, "github.com/acme/app", scan)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def server(database_server: DatabaseServer, template_database: str) -> Iterator[Server]:
    """One `registry serve` for the module, on a database of its own (with one indexed dependent)."""
    with module_server(database_server, template_database, _index_one_dependent, WHARF_BCRYPT_COST="4") as running:
        yield running


def sign_up(server: Server, username: str) -> None:
    body = json.dumps({"username": username, "email": f"{username}@example.com", "password": PASSWORD}).encode()
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        server.url + "/api/users", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 201


def env_for(home: Path, url: str, **extra: str) -> dict[str, str]:
    env = command_env(None, HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), WHARF_URL=url, **extra)
    for name in ("WHARF_TOKEN", "WHARF_PASSWORD"):
        if name not in extra:
            env.pop(name, None)
    return env


def registry(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = run_cli("registry", *args, env=env, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def extension_dir(root: Path, publisher: str, *, bundle_bytes: int = 0, **manifest: object) -> Path:
    directory = root / "word-count"
    (directory / "dist").mkdir(parents=True)
    fields = {
        "name": "word-count",
        "publisher": publisher,
        "version": "1.0.0",
        "title": "Word count",
        "description": "Counts the words in a file.",
        "main": "dist/extension.js",
        "activationEvents": ["*"],
        "repository": {"type": "git", "url": "https://example.com/word-count"},
        **manifest,
    }
    (directory / "package.json").write_text(json.dumps({k: v for k, v in fields.items() if v is not None}))
    padding = "// " + "x" * bundle_bytes + "\n" if bundle_bytes else ""
    bundle = f"export function activate() {{ return 1 }}\n{padding}//# sourceMappingURL=extension.js.map\n"
    (directory / "dist" / "extension.js").write_text(bundle)
    (directory / "dist" / "extension.js.map").write_text(SOURCE_MAP)
    (directory / "README.md").write_text("# Word count\n\nCounts words.\n")
    return directory


def test_login_whoami_publish_info_search_dependents_yank(server: Server, tmp_path: Path) -> None:
    sign_up(server, "alice")
    env = env_for(tmp_path, server.url)

    login = registry({**env, "WHARF_PASSWORD": PASSWORD}, "login", "--username", "alice")
    assert login.returncode == 0, login.stderr
    assert f"Logged in to {server.url} as alice" in login.stdout
    credentials = tmp_path / "config" / "wharf" / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(credentials.parent.stat().st_mode) == 0o700
    stored = json.loads(credentials.read_text())["servers"][server.url]
    assert stored["username"] == "alice" and stored["token"].startswith("wharf_")

    whoami = registry(env, "whoami")
    assert (whoami.returncode, whoami.stdout) == (0, "alice\n"), whoami.stderr
    elsewhere = env_for(tmp_path / "ci", server.url)  # a pasted token, read from stdin when it is not a TTY
    piped = subprocess.run(
        [sys.executable, "-m", "registry", "login"], input=stored["token"] + "\n", env=elsewhere,
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO_ROOT,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert registry(elsewhere, "whoami").stdout == "alice\n"

    directory = extension_dir(tmp_path, "alice")
    published = registry(env, "publish", str(directory))
    assert published.returncode == 0, published.stderr
    assert "Published alice/word-count@1.0.0 (tag release)" in published.stdout
    assert f"release     {server.url}/api/extensions/alice/word-count/releases/1.0.0" in published.stdout
    status, body = http_get(f"{server.url}/api/extensions/alice/word-count/releases/1.0.0")
    assert status == 200
    release = json.loads(body)
    assert release["manifest"]["readme"].startswith("# Word count"), "README.md became the manifest's readme"
    assert release["source_map"] is not None

    again = registry(env, "publish", str(directory))  # a CI retry of identical content succeeds
    assert again.returncode == 0 and "Already published" in again.stdout, again.stderr

    big = registry(
        env, "publish", str(extension_dir(tmp_path / "big", "alice", bundle_bytes=1_200_000)), "--version", "1.1.0"
    )
    assert big.returncode == 0, big.stderr
    assert "Published alice/word-count@1.1.0" in big.stdout

    refused = registry(env, "publish", str(directory), "--version", "1.0.x")
    assert refused.returncode == 1
    lines = refused.stderr.splitlines()
    assert lines[0].startswith("registry: 422 Validation failed: "), refused.stderr
    assert lines[1].startswith("  /version: must be a SemVer 2.0 version")

    info = registry(env, "info", "alice/word-count")
    assert info.returncode == 0, info.stderr
    assert info.stdout.startswith("alice/word-count  Word count\nCounts the words in a file.\nlatest:     1.1.0\n")
    assert [line.split()[:2] for line in info.stdout.splitlines()[-2:]] == [["1.1.0", "release"], ["1.0.0", "release"]]

    search = registry(env, "search", "word")
    assert search.returncode == 0, search.stderr
    assert search.stdout.splitlines()[0].split() == ["ID", "LATEST", "DESCRIPTION", "DOWNLOADS"]
    assert search.stdout.splitlines()[1].split() == [
        "alice/word-count",
        "1.1.0",
        "Counts",
        "the",
        "words",
        "in",
        "a",
        "file.",
        "0",
    ]

    dependents = registry(env, "dependents", "npm", "left-pad", "--version", "1.3.0")
    assert dependents.returncode == 0, dependents.stderr
    lines = dependents.stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "RANGE", "TYPE", "PATH", "PACKAGE", "ADMITS"]
    assert lines[1].startswith("github.com/acme/app ") and lines[2].startswith(" "), "grouped: the name once"
    assert sorted(line.split()[-4:] for line in lines[1:3]) == [
        ["^1.0.0", "devDependencies", "tools/package.json", "yes"],
        ["dependencies", "package.json", "app", "yes"],
    ]
    assert lines[-1] == "1 of 1 repositories (2 packages, 2 declarations) depend on npm left-pad"
    capped = registry(env, "dependents", "npm", "left-pad", "--per-repo", "1")
    assert capped.returncode == 0, capped.stderr
    assert capped.stdout.splitlines()[2].split() == ["(+1", "more)"]
    none = registry(env, "dependents", "npm", "right-pad", "--json")
    assert none.returncode == 0 and json.loads(none.stdout)["items"] == []

    yank = registry(env, "yank", "alice/word-count@1.1.0")
    assert (yank.returncode, yank.stdout) == (0, "Yanked alice/word-count@1.1.0\n"), yank.stderr
    assert "latest:     1.0.0" in registry(env, "info", "alice/word-count").stdout
    twice = registry(env, "yank", "alice/word-count@1.1.0")
    assert twice.returncode == 1 and twice.stderr.startswith("registry: 404 Not found: "), twice.stderr


def test_dry_run_checks_locally_and_sends_nothing(server: Server, tmp_path: Path) -> None:
    env = env_for(tmp_path, server.url)  # not logged in: a dry run needs no token
    directory = extension_dir(tmp_path, "dora", version="2.0.0")
    dry = registry(env, "publish", str(directory), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"Would publish dora/word-count@2.0.0 (tag release) to {server.url}" in dry.stdout
    assert "readme from README.md" in dry.stdout
    assert "Dry run: nothing was sent." in dry.stdout
    assert http_get(f"{server.url}/api/extensions/dora/word-count")[0] == 404

    broken = extension_dir(tmp_path / "broken", "dora", activationEvents=None, tags=["has space"])
    invalid = registry(env, "publish", str(broken), "--dry-run")
    assert invalid.returncode == 1
    lines = invalid.stderr.splitlines()
    assert lines[0].startswith("registry: dry run: The manifest is invalid: "), invalid.stderr
    assert lines[1] == "  /manifest/activationEvents: is required"
    assert lines[2].startswith("  /manifest/tags/0: ")

    unforced = extension_dir(tmp_path / "bare", "dora", description=None)
    warned = registry(env, "publish", str(unforced), "--dry-run")
    assert warned.returncode == 1
    assert "  /manifest/description: no description" in warned.stderr
    assert "(pass --force to publish anyway)" in warned.stderr
    assert registry(env, "publish", str(unforced), "--dry-run", "--force").returncode == 0


def test_failures_are_one_line_with_stable_exit_codes(server: Server, tmp_path: Path) -> None:
    env = env_for(tmp_path, server.url)

    not_logged_in = registry(env, "whoami")
    assert not_logged_in.returncode == 2
    assert (
        not_logged_in.stderr
        == f"registry: not logged in to {server.url}: run `registry login`, or set WHARF_TOKEN or pass --token\n"
    )

    bad = "wharf_" + "x" * 43
    wrong = registry({**env, "WHARF_TOKEN": bad}, "whoami")
    assert wrong.returncode == 1
    assert len(wrong.stderr.splitlines()) == 1 and wrong.stderr.startswith("registry: 401 "), wrong.stderr
    rejected_login = registry(env, "login", "--token", bad)
    assert rejected_login.returncode == 1 and rejected_login.stderr.startswith("registry: 401 ")
    assert not (tmp_path / "config" / "wharf" / "credentials.json").exists()
    publish = registry(env, "publish", str(extension_dir(tmp_path, "nobody")), "--token", bad)
    assert publish.returncode == 1 and publish.stderr.startswith("registry: 401 "), publish.stderr

    unreachable = f"http://127.0.0.1:{free_port()}"
    down = registry({**env, "WHARF_URL": unreachable}, "search", "word")
    assert down.returncode == 3
    assert down.stderr.startswith(f"registry: cannot reach {unreachable}: ") and len(down.stderr.splitlines()) == 1

    usage = registry(env, "yank", "alice/word-count")
    assert usage.returncode == 2 and "ID@VERSION" in usage.stderr
    bad_url = registry({**env, "WHARF_URL": "ftp://example.com"}, "whoami")
    assert bad_url.returncode == 2 and bad_url.stderr.startswith("registry: WHARF_URL must be an http")


def _api(server: Server, method: str, path: str, body: object, authorization: str) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        server.url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": authorization},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        result: dict[str, object] = json.loads(response.read())
        return result


@pytest.mark.parametrize(
    "args",
    [
        ("search", "no-such-words-anywhere"),
        ("dependents", "npm", "nobody-uses-this"),
        ("dependents", "npm", "nobody-uses-this", "--version", "1.0.0"),
        ("info", "erin/empty"),
    ],
)
def test_empty_results_print_an_empty_result_and_exit_0(server: Server, tmp_path: Path, args: tuple[str, ...]) -> None:
    if args[0] == "info":  # an extension with no release yet
        sign_up(server, "erin")
        basic = "Basic " + base64.b64encode(f"erin:{PASSWORD}".encode()).decode()
        token = _api(server, "POST", "/api/tokens", {"note": "t", "scopes": ["user:all"]}, basic)["token"]
        _api(server, "POST", "/api/extensions", {"publisher": "erin", "name": "empty"}, f"token {token}")
    env = env_for(tmp_path, server.url)
    table = registry(env, *args)
    assert table.returncode == 0, table.stderr
    assert table.stderr == ""
    header = next(line for line in table.stdout.splitlines() if line.startswith(("ID", "REPOSITORY", "VERSION")))
    assert table.stdout.splitlines()[-1] == header or "0 of 0 repositories" in table.stdout, table.stdout
    as_json = registry(env, *args, "--json")
    assert as_json.returncode == 0, as_json.stderr
    parsed = json.loads(as_json.stdout)
    assert (parsed.get("items") if "items" in parsed else parsed["releases"]) == []


def test_a_src_cli_project_publishes_as_it_is(server: Server, tmp_path: Path) -> None:
    """A project made for `src extensions publish`: no version in package.json, and the source map
    where src-cli looks for it (`dist/extension.map`, the bundle's suffix replaced)."""
    sign_up(server, "sam")
    env = env_for(tmp_path, server.url)
    assert registry({**env, "WHARF_PASSWORD": PASSWORD}, "login", "--username", "sam").returncode == 0
    directory = extension_dir(tmp_path, "sam", version=None)
    (directory / "dist" / "extension.js.map").rename(directory / "dist" / "extension.map")

    dry = registry(env, "publish", str(directory), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Would publish sam/word-count (unversioned release) (tag release)" in dry.stdout
    assert f"source map  {directory / 'dist' / 'extension.map'}" in dry.stdout

    for attempt in (1, 2):  # each unversioned publish is a new release, as on Sourcegraph
        published = registry(env, "publish", str(directory))
        assert published.returncode == 0, published.stderr
        assert "Published sam/word-count (unversioned release #" in published.stdout, published.stdout
        status, body = http_get(f"{server.url}/api/extensions/sam/word-count/releases")
        assert status == 200
        releases = json.loads(body)["items"]
        assert len(releases) == attempt and releases[0]["version"] is None
        assert releases[0]["source_map"] is not None, "dist/extension.map was sent"


def test_every_option_of_a_package_is_a_flag_of_publish() -> None:
    """`registry publish` hands its flags to load_package by name: the two lists are one."""
    keywords = [p.name for p in inspect.signature(load_package).parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert tuple(keywords) == PACKAGE_OPTIONS
