"""Configuration, read from the environment once at start.

Every setting has one environment variable; the command line may override a few of them
(`registry serve --port`). A bad value fails fast with a message naming the variable, so an
operator never learns about a typo from a stack trace in the middle of the night.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import field, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from registry.client_address import Network, parse_networks
from registry.domain.record import Record
from registry.git_sources import DEFAULT_HOSTS, DEFAULT_SCHEMES, REMOTE_SCHEMES

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


Parse = Callable[[str, str], Any]
"""A setting's parser: (variable name, raw text) to its value, None for "the default", or ConfigError."""


class Setting(Record):
    """One environment variable and the `Config` field it sets (None: read elsewhere). Defaults live
    on `Config` alone, and the README's configuration table documents each (tests/test_readme.py)."""

    env: str
    field: str | None
    parse: Parse | None = None


def _int(name: str, raw: str, *, minimum: int, maximum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _float(name: str, raw: str, *, minimum: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _int_in(minimum: int, maximum: int) -> Parse:
    return lambda name, raw: _int(name, raw, minimum=minimum, maximum=maximum)


def _at_least(minimum: float) -> Parse:
    return lambda name, raw: _float(name, raw, minimum=minimum)


def _text(name: str, raw: str) -> str | None:
    return raw or None


def _path(name: str, raw: str) -> Path | None:
    return Path(raw).expanduser() if raw else None


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _database_url(name: str, raw: str) -> str | None:
    if not raw:
        return None
    if not raw.startswith(("postgres://", "postgresql://")):
        raise ConfigError(f"{name} must be a postgresql:// URL, got a value starting {raw[:12]!r}")
    return raw


def _read_urls(name: str, raw: str) -> tuple[str, ...]:
    urls = tuple(part.strip() for part in raw.split(",") if part.strip())
    for url in urls:
        if not url.startswith(("postgres://", "postgresql://")):
            raise ConfigError(f"{name} must be comma-separated postgresql:// URLs, got one starting {url[:12]!r}")
    return urls


def _public_url(name: str, raw: str) -> str | None:
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"{name} must be an http(s):// base URL without query or fragment, got {raw!r}")
    return raw.rstrip("/")


def _trusted_proxies(name: str, raw: str) -> tuple[Network, ...]:
    try:
        return parse_networks(raw)
    except ValueError as error:
        raise ConfigError(f"{name} must be comma-separated IP addresses or CIDR networks: {error}") from None


def _secret(name: str, raw: str) -> bytes | None:
    if not raw:
        return None
    if len(raw) < 32:
        raise ConfigError(f"{name} must be at least 32 characters (a random key), got {len(raw)}")
    return raw.encode()


def _log_level(name: str, raw: str) -> str:
    level = raw.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"{name} must be one of DEBUG, INFO, WARNING, ERROR, got {raw!r}")
    return level


def _git_schemes(name: str, raw: str) -> tuple[str, ...]:
    schemes = tuple(part.strip().lower() for part in raw.split(",") if part.strip())
    for scheme in schemes:
        if scheme not in REMOTE_SCHEMES:
            raise ConfigError(
                f"{name} must be comma-separated schemes among {', '.join(REMOTE_SCHEMES)} "
                f"(local sources: WHARF_GIT_ALLOW_LOCAL), got {scheme!r}"
            )
    return schemes


_HOST_PATTERN = re.compile(r"^(\*|(\*\.)?[a-z0-9:][a-z0-9.:-]*)$")  # a name, an IP (v6 unbracketed), *.domain, *


def _git_hosts(name: str, raw: str) -> tuple[str, ...]:
    hosts = tuple(part.strip().lower().rstrip(".") for part in raw.split(",") if part.strip())
    for host in hosts:
        if not _HOST_PATTERN.match(host):
            raise ConfigError(f"{name} must be comma-separated host names (or *.domain, or *), got {host!r}")
    return hosts


_SIZE = _int_in(1024, 2**31)
_PER_WINDOW = _int_in(1, 10**6)

SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", "database_url", _database_url),
    Setting("DATABASE_READ_URL", "database_read_urls", _read_urls),
    Setting("WHARF_REPLICA_MAX_LAG_SECONDS", "replica_max_lag", _at_least(0)),
    Setting("WHARF_DATA_DIR", "data_dir", _path),
    Setting("WHARF_HOST", "host", _text),
    Setting("WHARF_PORT", "port", _int_in(0, 65535)),
    Setting("WHARF_WORKERS", "workers", _int_in(1, 256)),
    Setting("WHARF_AUTO_MIGRATE", "auto_migrate", _bool),
    Setting("WHARF_MAX_BODY_BYTES", "max_body_bytes", _SIZE),
    Setting("WHARF_MAX_BUNDLE_BYTES", "max_bundle_bytes", _SIZE),
    Setting("WHARF_MAX_SOURCE_MAP_BYTES", "max_source_map_bytes", _SIZE),
    Setting("WHARF_MAX_MANIFEST_BYTES", "max_manifest_bytes", _SIZE),
    Setting("WHARF_PUBLIC_URL", "public_url", _public_url),
    Setting("WHARF_BUNDLE_CACHE_BYTES", "bundle_cache_bytes", _int_in(0, 2**40)),
    Setting("WHARF_ASSET_CACHE_DIR", "asset_cache_dir", _path),
    Setting("WHARF_DOWNLOADS_FLUSH_SECONDS", "downloads_flush_seconds", _at_least(0.1)),
    Setting("WHARF_POOL_MIN_SIZE", "pool_min_size", _int_in(0, 1000)),
    Setting("WHARF_POOL_MAX_SIZE", "pool_max_size", _int_in(1, 1000)),
    Setting("WHARF_DB_TIMEOUT", "db_timeout", _at_least(0.1)),
    Setting("WHARF_LOG_LEVEL", "log_level", _log_level),
    Setting("WHARF_ACCESS_LOG", "access_log", _bool),
    Setting("WHARF_DEPENDENTS_CACHE_SECONDS", "dependents_cache_seconds", _at_least(0)),
    Setting("WHARF_RESPONSE_CACHE_BYTES", "response_cache_bytes", _int_in(0, 2**40)),
    Setting("WHARF_LICENSE_SIGNING_KEY", "license_signing_key", _path),
    Setting("WHARF_BCRYPT_COST", "bcrypt_cost", _int_in(4, 15)),
    Setting("WHARF_OPEN_SIGNUP", "open_signup", _bool),
    Setting("WHARF_AUTH_FAILURES_PER_USER", "auth_failures_per_user", _PER_WINDOW),
    Setting("WHARF_AUTH_FAILURES_PER_ADDRESS", "auth_failures_per_address", _PER_WINDOW),
    Setting("WHARF_AUTH_FAILURE_WINDOW", "auth_failure_window", _at_least(1)),
    Setting("WHARF_TRUSTED_PROXIES", "trusted_proxies", _trusted_proxies),
    Setting("WHARF_SIGNUPS_PER_ADDRESS", "signups_per_address", _PER_WINDOW),
    Setting("WHARF_MAILS_PER_ADDRESS", "mails_per_address", _PER_WINDOW),
    Setting("WHARF_SURVEYS_PER_ADDRESS", "surveys_per_address", _PER_WINDOW),
    Setting("WHARF_RATE_WINDOW", "rate_window", _at_least(1)),
    Setting("WHARF_DOWNLOAD_COUNT_WINDOW", "download_count_window", _at_least(0)),
    Setting("WHARF_EXTERNAL_ACCOUNT_SECRET", "external_account_secret", _secret),
    Setting("WHARF_KEEPALIVE_TIMEOUT", "keepalive_timeout", _at_least(0.1)),
    Setting("WHARF_BODY_TIMEOUT", "body_timeout", _at_least(0.1)),
    Setting("WHARF_MAX_HEADER_BYTES", "max_header_bytes", _int_in(1024, 1 << 20)),
    Setting("WHARF_MAX_HEADERS", "max_headers", _int_in(8, 10_000)),
    Setting("WHARF_PARSER_PROCESSES", "parser_processes", _int_in(1, 64)),
    Setting("WHARF_PARSER_TIMEOUT", "parser_timeout", _at_least(0.01)),
    Setting("WHARF_MAX_DECOMPRESSION_RATIO", "max_decompression_ratio", _int_in(2, 100_000)),
    Setting("WHARF_GIT_ALLOWED_SCHEMES", "git_allowed_schemes", _git_schemes),
    Setting("WHARF_GIT_ALLOWED_HOSTS", "git_allowed_hosts", _git_hosts),
    Setting("WHARF_GIT_ALLOW_LOCAL", "git_allow_local", _bool),
    Setting("WHARF_GIT_MIRROR_DIR", "git_mirror_dir", _path),
    Setting("WHARF_GIT_TIMEOUT", "git_timeout", _at_least(0.1)),
    Setting("WHARF_GIT_MAX_BYTES", "git_max_bytes", _int_in(1 << 20, 1 << 42)),
    Setting("WHARF_GIT_PER_HOST", "git_per_host", _int_in(1, 1000)),
    Setting("WHARF_INDEX_MAX_LOCKFILE_BYTES", "index_max_lockfile_bytes", _int_in(1024, 1 << 30)),
    Setting("WHARF_INDEX_MAX_RESOLVED_PER_LOCKFILE", "index_max_resolved_per_lockfile", _int_in(1, 10_000_000)),
    Setting("WHARF_INDEX_MAX_RESOLVED_PER_REPO", "index_max_resolved_per_repo", _int_in(1, 100_000_000)),
    Setting("WHARF_MIGRATIONS_DIR", None),  # read by registry.resources when migrations are found
)


class Config(Record):
    """Everything the process needs to know, immutable once read."""

    database_url: str | None = None
    database_read_urls: tuple[str, ...] = field(default=(), repr=False)  # DSNs may hold passwords
    replica_max_lag: float = 5.0
    data_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    auto_migrate: bool = True
    max_body_bytes: int = 1024 * 1024
    max_bundle_bytes: int = 10 * 1024 * 1024
    max_source_map_bytes: int = 30 * 1024 * 1024
    max_manifest_bytes: int = 1024 * 1024
    public_url: str | None = None
    bundle_cache_bytes: int = 256 * 1024 * 1024
    asset_cache_dir: Path | None = None  # None: <data dir>/asset-cache, or a temporary directory
    downloads_flush_seconds: float = 10.0
    dependents_cache_seconds: float = 5.0
    response_cache_bytes: int = 64 * 1024 * 1024
    license_signing_key: Path | None = None
    pool_min_size: int = 1
    pool_max_size: int = 10
    db_timeout: float = 10.0
    log_level: str = "INFO"
    access_log: bool = True
    bcrypt_cost: int = 12
    open_signup: bool = True
    auth_failures_per_user: int = 10
    auth_failures_per_address: int = 50
    auth_failure_window: float = 300.0
    trusted_proxies: tuple[Network, ...] = ()
    signups_per_address: int = 20
    mails_per_address: int = 20
    surveys_per_address: int = 10
    rate_window: float = 3600.0
    download_count_window: float = 3600.0
    external_account_secret: bytes | None = field(default=None, repr=False)
    keepalive_timeout: float = 15.0
    body_timeout: float = 60.0
    max_header_bytes: int = 8190
    max_headers: int = 100
    parser_processes: int = 2
    parser_timeout: float = 5.0
    max_decompression_ratio: int = 100
    git_allowed_schemes: tuple[str, ...] = DEFAULT_SCHEMES
    git_allowed_hosts: tuple[str, ...] = DEFAULT_HOSTS
    git_allow_local: bool = False
    git_mirror_dir: Path | None = None
    git_timeout: float = 300.0
    git_max_bytes: int = 1 << 30
    git_per_host: int = 4
    index_max_lockfile_bytes: int = 16 * 1024 * 1024
    index_max_resolved_per_lockfile: int = 50_000
    index_max_resolved_per_repo: int = 200_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read and validate every setting; raise ConfigError naming the first bad variable. An
        unset variable, or one whose parser answers None (an empty path), keeps the default."""
        env = os.environ if environ is None else environ
        values = {
            setting.field: setting.parse(setting.env, env[setting.env])
            for setting in SETTINGS
            if setting.field and setting.parse and setting.env in env
        }
        config = cls(**{name: value for name, value in values.items() if value is not None})
        if config.pool_min_size > config.pool_max_size:
            raise ConfigError("WHARF_POOL_MIN_SIZE must not exceed WHARF_POOL_MAX_SIZE")
        return config

    @property
    def max_publish_bytes(self) -> int:
        """The largest publish request: bundle and source map (JSON escaping may double them),
        the manifest, and room for the other fields."""
        return 2 * (self.max_bundle_bytes + self.max_source_map_bytes) + self.max_manifest_bytes + 65536

    @property
    def asset_directory(self) -> Path | None:
        """Where bundles and source maps are cached on disk (registry.asset_cache); None: a
        temporary directory of the process's own."""
        if self.asset_cache_dir is not None:
            return self.asset_cache_dir
        return self.data_dir / "asset-cache" if self.data_dir is not None else None

    def with_overrides(self, **changes: Any) -> Config:
        """A copy with command-line values applied; `None` means "not given on the command line"."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
