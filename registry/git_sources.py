"""Where the indexer may read a repository from: the rules for a queued `source`.

A source is a git URL (`https://`, `ssh://`, `git://`; `http://` only when an operator lists it)
or, when the operator enabled it, a local path or `file://` URL. A URL is an attack surface even
in a site admin's hands (a worker can reach hosts the admin cannot: cloud metadata, internal
forges), so the scheme and the host must both be on the operator's allow-list. The API checks a
source when it is queued and the worker checks it again before git runs (defence in depth), with
this one function.

Credentials in an http(s) URL (`https://user:token@host/…`) are split off: the stored, logged and
shown source never carries them (`GitSource.url`), and they travel separately to the worker,
which hands them to git in its environment, never on a command line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import field
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit, urlunsplit

from registry.domain.record import Record

REMOTE_SCHEMES = ("https", "http", "ssh", "git")  # what WHARF_GIT_ALLOWED_SCHEMES may list
DEFAULT_SCHEMES = ("https", "ssh", "git")
DEFAULT_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org")
MAX_REVISION = 256
_SCP_LIKE = re.compile(r"^[^/]*:")  # `git@host:owner/repo`: git reads it as ssh, so do we (and refuse)
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")  # whitespace and control characters: never in a source
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@")
REDACTED = "***"


class SourceRefused(ValueError):
    """A source the policy does not allow; the message names why and never holds a credential."""


class GitSource(Record):
    """A checked source: a remote `url` (normalised, credential-free) or a local `path`."""

    url: str | None
    path: str | None
    scheme: str
    host: str | None
    credentials: str | None = field(default=None, repr=False)  # "user:password", percent-encoded

    @property
    def shown(self) -> str:
        """What may be stored in `source`, logged and answered: never a credential."""
        return self.url or self.path or ""


def _host_allowed(host: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        if pattern == "*" or pattern == host:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


class SourcePolicy(Record):
    """The operator's allow-list (WHARF_GIT_ALLOWED_SCHEMES, WHARF_GIT_ALLOWED_HOSTS,
    WHARF_GIT_ALLOW_LOCAL); refusing by default what it does not name."""

    schemes: tuple[str, ...] = DEFAULT_SCHEMES
    hosts: tuple[str, ...] = DEFAULT_HOSTS
    allow_local: bool = False

    def check(self, raw: str) -> GitSource:
        """The source, checked and normalised; SourceRefused naming the rule it breaks."""
        if _UNSAFE.search(raw):
            raise SourceRefused("source must not contain whitespace or control characters.")
        if "://" not in raw:
            if _SCP_LIKE.match(raw) and not raw.startswith("/"):
                raise SourceRefused("source must be a URL (ssh://user@host/path, not user@host:path).")
            return self._local(raw)
        return self._remote(raw)

    def _local(self, path: str) -> GitSource:
        if not self.allow_local:
            raise SourceRefused("local paths are not allowed as a source (the operator may set WHARF_GIT_ALLOW_LOCAL).")
        if not PurePosixPath(path).is_absolute():
            raise SourceRefused("a local source must be an absolute path.")
        return GitSource(url=None, path=path, scheme="path", host=None)

    def _remote(self, raw: str) -> GitSource:
        try:
            parts = urlsplit(raw)
            port = parts.port
        except ValueError:
            raise SourceRefused("source is not a valid URL.") from None
        scheme = parts.scheme.lower()
        if scheme == "file":
            if not self.allow_local:
                raise SourceRefused("file:// sources are not allowed (the operator may set WHARF_GIT_ALLOW_LOCAL).")
            if parts.netloc or parts.query or parts.fragment:
                raise SourceRefused("a file:// source is file:///absolute/path, without host, query or fragment.")
            return GitSource(url=f"file://{parts.path}", path=None, scheme="file", host=None)
        if scheme not in self.schemes:
            allowed = ", ".join(self.schemes) or "none"
            raise SourceRefused(f"the scheme {scheme}:// is not allowed for a source (allowed: {allowed}).")
        host = (parts.hostname or "").rstrip(".")
        if not host or parts.query or parts.fragment or not parts.path.strip("/"):
            raise SourceRefused("source must name a host and a repository path, without query or fragment.")
        if not _host_allowed(host, self.hosts):
            raise SourceRefused(f"the host {host} is not on the indexer's allow-list (WHARF_GIT_ALLOWED_HOSTS).")
        user, password = parts.username, parts.password
        credentials = None
        kept_user = ""
        if scheme in ("https", "http") and (user or password):
            credentials = f"{user or ''}:{password or ''}"
        elif scheme == "ssh" and password is not None:
            raise SourceRefused("an ssh:// source takes a user name, never a password (use keys).")
        elif scheme == "ssh" and user:
            kept_user = f"{user}@"
        elif user or password:
            raise SourceRefused(f"a {scheme}:// source takes no credentials.")
        netloc = kept_user + (f"[{host}]" if ":" in host else host) + (f":{port}" if port is not None else "")
        url = urlunsplit((scheme, netloc, parts.path, "", ""))
        return GitSource(url=url, path=None, scheme=scheme, host=host, credentials=credentials)


def check_revision(revision: str) -> str:
    """A revision is given to git after `--end-of-options`; still, one that looks like an option
    or holds whitespace is refused up front, so a mistake reads as one."""
    if not 0 < len(revision) <= MAX_REVISION or revision.startswith("-") or _UNSAFE.search(revision):
        raise SourceRefused(f"revision must be 1 to {MAX_REVISION} characters, without whitespace or a leading '-'.")
    return revision


def basic_credentials(credentials: str) -> tuple[str, str]:
    """User and password, percent-decoded, from the stored `user:password`."""
    user, _, password = credentials.partition(":")
    return unquote(user), unquote(password)


def secrets_of(credentials: str | None) -> tuple[str, ...]:
    """What must never be shown of stored credentials: the whole, and the password (the user name
    when there is no password: `https://TOKEN@host/…` carries its token there)."""
    if not credentials:
        return ()
    user, password = basic_credentials(credentials)
    return (credentials, password or user)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` without the user information of any URL in it and without any of `secrets` (each
    also percent-decoded): for every error, log line and answer that might quote a source."""
    text = _USERINFO.sub(lambda match: f"{match['scheme']}{REDACTED}@", text)
    for secret in secrets:
        for form in {secret, unquote(secret)} if secret else ():
            if len(form) >= 3:  # a one- or two-letter "secret" would blank out ordinary words
                text = text.replace(form, REDACTED)
    return text
