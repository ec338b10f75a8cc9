"""Where the client points and with which token: flags, then WHARF_URL/WHARF_TOKEN, then the
credentials file (`platformdirs.user_config_path("wharf")/credentials.json`, one token per server).

The credentials file is written with mode 0600 (replaced atomically, so a crash never leaves half
a file), in a directory created with mode 0700; a directory that already exists is left as it is.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from registry.domain.record import Record

DEFAULT_SERVER = "http://127.0.0.1:8080"
CREDENTIALS_FILE = "credentials.json"


class UsageError(Exception):
    """A mistake in the command line or the environment (exit status 2)."""


def server_url(flag: str | None) -> str:
    """`--server`, else WHARF_URL, else the local default; without a trailing slash."""
    url = (flag or os.environ.get("WHARF_URL") or DEFAULT_SERVER).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        source = "--server" if flag else "WHARF_URL"
        raise UsageError(f"{source} must be an http:// or https:// URL, got {url!r}")
    if parts.query or parts.fragment:
        raise UsageError(f"the server URL must not have a query or fragment, got {url!r}")
    return url


def config_dir() -> Path:
    return platformdirs.user_config_path("wharf")


def credentials_path() -> Path:
    return config_dir() / CREDENTIALS_FILE


class Credentials(Record):
    token: str
    username: str | None
    source: str  # "--token", "WHARF_TOKEN" or the credentials file's path


def _read_store(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {"servers": {}}
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("servers"), dict):
        raise UsageError(f"{path} is not a Wharf credentials file; remove it and run `registry login` again")
    return data


def stored_credentials(server: str) -> Credentials | None:
    path = credentials_path()
    entry = _read_store(path)["servers"].get(server)
    if not isinstance(entry, dict) or not isinstance(entry.get("token"), str):
        return None
    username = entry.get("username")
    return Credentials(entry["token"], username if isinstance(username, str) else None, str(path))


def resolve_credentials(server: str, flag: str | None) -> Credentials | None:
    """`--token`, else WHARF_TOKEN, else the token stored for `server` (None: not logged in)."""
    if flag:
        return Credentials(flag.strip(), None, "--token")
    env = os.environ.get("WHARF_TOKEN", "").strip()
    if env:
        return Credentials(env, None, "WHARF_TOKEN")
    return stored_credentials(server)


def save_credentials(server: str, token: str, username: str) -> Path:
    """Store `token` for `server`, replacing any earlier one; the file is 0600 from its first byte."""
    directory = config_dir()
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / CREDENTIALS_FILE
    store = _read_store(path)
    store["servers"][server] = {"token": token, "username": username, "saved_at": datetime.now(UTC).isoformat()}
    fd, temporary = tempfile.mkstemp(prefix=".credentials-", suffix=".json", dir=directory)  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump(store, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
