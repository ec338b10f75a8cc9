"""`registry login|whoami|publish|yank|info|search|dependents`: the publishing client.

Exit status: 0 success; 1 the server refused (`registry: <status> <title>: <detail>`, then each
violation as `  <pointer>: <message>`) or a local check failed (--dry-run); 2 bad usage or
configuration; 3 the server could not be reached. Errors are one line (plus violations), never a
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import socket
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from registry.client.api import Api, ApiError, Unreachable
from registry.client.config import UsageError, resolve_credentials, save_credentials, server_url
from registry.client.publish import PACKAGE_OPTIONS, check_locally, load_package, upload
from registry.domain.errors import DomainError

COMMANDS = ("login", "whoami", "publish", "yank", "info", "search", "dependents")
SCOPES = ("registry:publish", "user:all", "site-admin:sudo")
EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3


def add_commands(commands: Any) -> None:
    """Add the client's subcommands to the `registry` parser's subparsers."""
    remote = argparse.ArgumentParser(add_help=False)
    remote.add_argument("--server", metavar="URL", help="registry URL (env WHARF_URL, default http://127.0.0.1:8080)")
    remote.add_argument("--token", help="access token (env WHARF_TOKEN, default: the one `registry login` stored)")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print the server's JSON instead of a table")

    login = commands.add_parser(
        "login", parents=[remote], help="store a token for a registry (verified with GET /api/user)"
    )
    login.add_argument(
        "--username", "-u", help="create a token with this user's password (prompted; env WHARF_PASSWORD)"
    )
    login.add_argument(
        "--scopes",
        type=_scopes,
        default=["registry:publish"],
        help="with --username: comma-separated token scopes (default registry:publish; also user:all)",
    )

    commands.add_parser("whoami", parents=[remote], help="print the user the token belongs to")

    publish = commands.add_parser("publish", parents=[remote], help="publish an extension release")
    publish.add_argument("directory", nargs="?", type=Path, default=Path("."), metavar="DIR", help="default: .")
    publish.add_argument("--manifest", type=Path, metavar="FILE", help="default: DIR/package.json")
    publish.add_argument("--bundle", type=Path, metavar="FILE", help="default: the manifest's main")
    publish.add_argument("--source-map", type=Path, metavar="FILE", help="default: main + .map when present")
    publish.add_argument("--extension-id", metavar="PUBLISHER/NAME", help="default: the manifest's publisher/name")
    publish.add_argument("--version", help="the release's version (overrides the manifest's)")
    publish.add_argument("--tag", default="release", help="release tag (default release)")
    publish.add_argument("--force", action="store_true", help="publish despite warnings")
    publish.add_argument(
        "--dry-run", action="store_true", help="check locally and show what would be sent; send nothing"
    )

    yank = commands.add_parser("yank", parents=[remote], help="yank a release (its version is never reused)")
    yank.add_argument("release", type=_release, metavar="ID@VERSION")

    info = commands.add_parser("info", parents=[remote, as_json], help="an extension, its latest version and releases")
    info.add_argument("extension_id", type=_extension_id, metavar="ID")

    search = commands.add_parser("search", parents=[remote, as_json], help="search published extensions")
    search.add_argument("query", nargs="?", default="", metavar="QUERY")
    search.add_argument("--limit", type=_limit, default=20, help="at most this many (default 20)")

    dependents = commands.add_parser(
        "dependents", parents=[remote, as_json], help="repositories depending on a package (the package index)"
    )
    dependents.add_argument("language", metavar="LANGUAGE")
    dependents.add_argument("package", metavar="PACKAGE")
    dependents.add_argument(
        "--version", help="only dependents whose declared range admits this version (--resolved: a version or range)"
    )
    dependents.add_argument("--limit", type=_limit, default=50, help="at most this many (default 50)")
    dependents.add_argument(
        "--resolved", action="store_true", help="the versions lockfiles resolved, with the path to each"
    )
    dependents.add_argument("--direct", action="store_true", help="with --resolved: direct dependencies only")
    dependents.add_argument("--no-dev", action="store_true", help="with --resolved: leave out development-only ones")


def _scopes(text: str) -> list[str]:
    scopes = sorted({s.strip() for s in text.split(",") if s.strip()})
    unknown = [s for s in scopes if s not in SCOPES]
    if not scopes or unknown:
        raise argparse.ArgumentTypeError(f"scopes are a comma-separated list of {', '.join(SCOPES)}")
    return scopes


def _extension_id(text: str) -> str:
    publisher, _, name = text.partition("/")
    if not publisher or not name or "/" in name:
        raise argparse.ArgumentTypeError(f"{text!r} is not an extension id (publisher/name)")
    return text


def _release(text: str) -> tuple[str, str]:
    extension_id, at, version = text.rpartition("@")
    if not at or not version:
        raise argparse.ArgumentTypeError(f"{text!r} is not ID@VERSION (e.g. alice/word-count@1.2.0)")
    return _extension_id(extension_id), version


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError("must be a number from 1 to 1000")
    return int(text)


def _path(extension_id: str) -> str:
    publisher, name = extension_id.split("/", 1)
    return f"/api/extensions/{quote(publisher, safe='')}/{quote(name, safe='')}"


def _err(line: str) -> None:
    print(f"registry: {line}", file=sys.stderr)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], widest: int = 60) -> str:
    """Plain aligned columns (stable in CI logs, unlike a terminal-width table); with no rows, the
    header alone (an empty result is a result, not an error)."""
    cells = [[str(c) if len(str(c)) <= widest else str(c)[: widest - 1] + "…" for c in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), *lines])


def _token(args: argparse.Namespace, server: str) -> str:
    credentials = resolve_credentials(server, args.token)
    if credentials is None:
        raise UsageError(f"not logged in to {server}: run `registry login`, or set WHARF_TOKEN or pass --token")
    return credentials.token


def _read_secret(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().strip()


def _release_name(extension_id: str, version: str | None, release_id: int | None) -> str:
    """`publisher/name@1.2.0`, or, for an unversioned release (a src-cli project without a
    version), `publisher/name (unversioned release #id)`."""
    if version is not None:
        return f"{extension_id}@{version}"
    return f"{extension_id} (unversioned release{f' #{release_id}' if release_id is not None else ''})"


async def _login(args: argparse.Namespace, server: str) -> int:
    if args.username and args.token:
        raise UsageError("pass either --token or --username, not both")
    async with Api(server) as api:
        if args.username:
            password = os.environ.get("WHARF_PASSWORD") or _read_secret(f"Password for {args.username}@{server}: ")
            if not password:
                raise UsageError("no password given (type it, or set WHARF_PASSWORD)")
            note = f"registry login on {socket.gethostname()}"[:255]
            created = await api.request(
                "POST",
                "/api/tokens",
                json_body={"note": note, "scopes": args.scopes},
                auth=aiohttp.BasicAuth(args.username, password),
            )
            token = str(created.body["token"])
        else:
            token = (args.token or os.environ.get("WHARF_TOKEN") or _read_secret(f"Token for {server}: ")).strip()
            if not token:
                raise UsageError("no token given (paste it, set WHARF_TOKEN, or pass --token or --username)")
        api.token = token
        user = await api.get("/api/user")
    path = save_credentials(server, token, user["username"])
    print(f"Logged in to {server} as {user['username']} (token saved in {path})")
    return 0


async def _whoami(args: argparse.Namespace, server: str) -> int:
    async with Api(server, _token(args, server)) as api:
        user = await api.get("/api/user")
    print(user["username"])
    return 0


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"


async def _publish(args: argparse.Namespace, server: str) -> int:
    package = load_package(args.directory, **{name: getattr(args, name) for name in PACKAGE_OPTIONS})
    if args.dry_run:
        try:
            warnings = check_locally(package)
        except DomainError as exc:
            _err(f"dry run: {exc.detail}")
            for error in exc.errors or []:
                print(f"  {error['pointer']}: {error['message']}", file=sys.stderr)
            if exc.errors and str(exc.detail).startswith("Publishing would need attention"):
                print("  (pass --force to publish anyway)", file=sys.stderr)
            return EXIT_REFUSED
        what = _release_name(package.extension_id, package.effective_version, None)
        print(f"Would publish {what} (tag {package.tag}) to {server}")
        manifest_note = f" ({', '.join(package.notes)})" if package.notes else ""
        print(f"  manifest    {package.manifest_path}  {_size(len(package.manifest_text.encode()))}{manifest_note}")
        print(f"  bundle      {package.bundle_path}  {_size(len(package.bundle))}")
        if package.source_map is not None:
            print(f"  source map  {package.source_map_path}  {_size(len(package.source_map))}")
        else:
            print("  source map  (none)")
        for warning in warnings:
            print(f"registry: warning: {warning['pointer']}: {warning['message']}", file=sys.stderr)
        print("Dry run: nothing was sent.")
        return 0
    async with Api(server, _token(args, server)) as api:
        response = await upload(api, package)
    release = response.body
    verb = "Published" if response.status == 201 else "Already published (identical content)"
    print(f"{verb} {_release_name(release['extension_id'], release['version'], release['id'])} (tag {release['tag']})")
    if release.get("url"):
        print(f"  release     {api.url(release['url'])}")
    print(f"  bundle      {api.url(release['bundle']['url'])}")
    if release.get("source_map"):
        print(f"  source map  {api.url(release['source_map']['url'])}")
    for warning in release.get("warnings") or []:
        print(f"registry: warning: {warning.get('pointer')}: {warning.get('message')}", file=sys.stderr)
    return 0


async def _yank(args: argparse.Namespace, server: str) -> int:
    extension_id, version = args.release
    async with Api(server, _token(args, server)) as api:
        await api.request("DELETE", f"{_path(extension_id)}/releases/{quote(version, safe='')}")
    print(f"Yanked {extension_id}@{version}")
    return 0


def _optional_token(args: argparse.Namespace, server: str) -> str | None:
    credentials = resolve_credentials(server, args.token)
    return credentials.token if credentials else None


async def _info(args: argparse.Namespace, server: str) -> int:
    async with Api(server, _optional_token(args, server)) as api:
        extension = await api.get(_path(args.extension_id))
        releases = await api.get(f"{_path(args.extension_id)}/releases", {"limit": "100"})
    if args.json:
        print(json.dumps({**extension, "releases": releases["items"]}, indent=2))
        return 0
    latest = extension.get("latest_release") or {}
    print(extension["extension_id"] + (f"  {extension['title']}" if extension.get("title") else ""))
    if extension.get("description"):
        print(extension["description"])
    print(f"latest:     {latest.get('version') or '(none)'}")
    print(f"downloads:  {extension.get('downloads', 0)}")
    print(f"url:        {api.url(extension['url'])}")
    print()
    rows = [
        [r.get("version") or "-", r.get("tag") or "", str(r.get("created_at", ""))[:19], str(r.get("downloads", 0))]
        for r in releases["items"]
    ]
    print(_table(["VERSION", "TAG", "CREATED", "DOWNLOADS"], rows))
    return 0


async def _page_or_json(args: argparse.Namespace, server: str, path: str, params: dict[str, str]) -> Any:
    """A page of `path`; with --json it is printed as it came and None is returned."""
    async with Api(server, _optional_token(args, server)) as api:
        page = await api.get(path, params)
    if args.json:
        print(json.dumps(page, indent=2))
        return None
    return page


async def _search(args: argparse.Namespace, server: str) -> int:
    params = {"limit": str(args.limit)}
    if args.query:
        params["q"] = args.query
    page = await _page_or_json(args, server, "/api/extensions", params)
    if page is None:
        return 0
    rows = [
        [
            e["extension_id"],
            (e.get("latest_release") or {}).get("version") or "-",
            e.get("description") or "",
            str(e.get("downloads", 0)),
        ]
        for e in page["items"]
    ]
    print(_table(["ID", "LATEST", "DESCRIPTION", "DOWNLOADS"], rows))
    return 0


async def _dependents(args: argparse.Namespace, server: str) -> int:
    params = {"language": args.language, "package": args.package, "limit": str(args.limit)}
    if args.version is not None:
        params["version"] = args.version
    if args.resolved:
        return await _resolved_dependents(args, server, params)
    if args.direct or args.no_dev:
        raise UsageError("--direct and --no-dev filter resolved dependents: add --resolved")
    page = await _page_or_json(args, server, "/api/dependents", params)
    if page is None:
        return 0
    headers = ["REPOSITORY", "RANGE", "TYPE", "PATH"]
    rows = [[d["repo"], d.get("range") or "", d.get("dep_type") or "", d.get("path") or ""] for d in page["items"]]
    if args.version is not None:
        headers.append("ADMITS")
        for row, item in zip(rows, page["items"], strict=True):
            row.append({True: "yes", False: "no"}.get(item.get("admits"), "unknown"))
    print(_table(headers, rows))
    shown = len(rows)
    more = " (more with --limit or --json)" if page.get("next_cursor") else ""
    print(f"{shown} of {page['total']} dependent(s) of {page['language']} {page['package']}{more}")
    return 0


async def _resolved_dependents(args: argparse.Namespace, server: str, params: dict[str, str]) -> int:
    """Repositories running the package at a resolved version, and through what (one shortest path
    from the root); an empty answer is a line saying so, exit status 0."""
    params = {**params, "resolved": "true", **({"direct": "true"} if args.direct else {})}
    page = await _page_or_json(args, server, "/api/dependents", {**params, **({"dev": "false"} if args.no_dev else {})})
    if page is None:
        return 0
    asked = f" at {page['version']}" if page.get("version") else ""
    if not page["items"]:
        print(f"No indexed repository runs {page['language']} {page['package']}{asked} (resolved by a lockfile).")
        return 0
    rows = [
        [d["repo"], d["version"], _how(d), d["lockfile"], " > ".join(d["path"]) if d.get("path") else "(unknown)"]
        for d in page["items"]
    ]
    print(_table(["REPOSITORY", "VERSION", "HOW", "LOCKFILE", "PATH"], rows, widest=120))
    more = " (more with --limit or --json)" if page.get("next_cursor") else ""
    print(
        f"{len(rows)} of {page['total']} resolved dependent(s) in {page['repos']} repositor"
        f"{'y' if page['repos'] == 1 else 'ies'} of {page['language']} {page['package']}{asked}{more}"
    )
    return 0


def _how(item: dict[str, Any]) -> str:
    depth = item.get("depth", 0)
    how = "direct" if depth == 1 else "unknown" if depth == 0 else f"depth {depth}"
    return how + (", dev" if item.get("dev") else "")


HANDLERS: dict[str, Callable[[argparse.Namespace, str], Coroutine[Any, Any, int]]] = {
    "login": _login,
    "whoami": _whoami,
    "publish": _publish,
    "yank": _yank,
    "info": _info,
    "search": _search,
    "dependents": _dependents,
}


def run(args: argparse.Namespace) -> int:
    """Run one client command; every failure becomes a message and an exit status."""
    try:
        server = server_url(args.server)
        return asyncio.run(HANDLERS[args.command](args, server))
    except ApiError as exc:
        for number, line in enumerate(exc.lines()):
            print(f"registry: {line}" if number == 0 else line, file=sys.stderr)
        if exc.body.get("warnings"):
            print("  (pass --force to publish anyway)", file=sys.stderr)
        return EXIT_REFUSED
    except UsageError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except Unreachable as exc:
        _err(str(exc))
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a CI log gets one line, never a traceback
        _err(f"error: {type(exc).__name__}: {exc}")
        return EXIT_REFUSED
