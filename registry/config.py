"""Configuration, read from the environment once at start.

Every setting has one environment variable; the command line may override a few of them
(`registry serve --port`). A bad value fails fast with a message naming the variable, so an
operator never learns about a typo from a stack trace in the middle of the night.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from registry.client_address import Network, parse_networks

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    """One documented environment variable (the README's configuration table is built from these)."""

    env: str
    default: str
    doc: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", "", "PostgreSQL DSN. Unset: an embedded PostgreSQL is started."),
    Setting("WHARF_DATA_DIR", "(per user)", "Data directory of the embedded PostgreSQL."),
    Setting("WHARF_HOST", "127.0.0.1", "Address `registry serve` listens on."),
    Setting("WHARF_PORT", "8080", "Port `registry serve` listens on."),
    Setting("WHARF_WORKERS", "1", "Server processes sharing the port (SO_REUSEPORT)."),
    Setting("WHARF_AUTO_MIGRATE", "true", "Migrate up when `registry serve` starts."),
    Setting("WHARF_MAX_BODY_BYTES", "1048576", "Largest ordinary (non-publish) request body (413 beyond)."),
    Setting("WHARF_MAX_BUNDLE_BYTES", "10485760", "Largest extension bundle accepted at publish (413 beyond)."),
    Setting("WHARF_MAX_SOURCE_MAP_BYTES", "31457280", "Largest source map accepted at publish (413 beyond)."),
    Setting("WHARF_MAX_MANIFEST_BYTES", "1048576", "Largest extension manifest accepted (413 beyond)."),
    Setting("WHARF_PUBLIC_URL", "", "The registry's public base URL, for absolute links (source maps)."),
    Setting("WHARF_BUNDLE_CACHE_BYTES", "268435456", "In-process cache of hot bundles and source maps."),
    Setting("WHARF_DOWNLOADS_FLUSH_SECONDS", "10", "How often counted downloads are written to the database."),
    Setting("WHARF_POOL_MIN_SIZE", "1", "Smallest number of pooled database connections."),
    Setting("WHARF_POOL_MAX_SIZE", "10", "Largest number of pooled database connections."),
    Setting("WHARF_DB_TIMEOUT", "10", "Seconds to wait for a connection or a statement."),
    Setting("WHARF_LOG_LEVEL", "INFO", "Python logging level (DEBUG, INFO, WARNING, ERROR)."),
    Setting("WHARF_ACCESS_LOG", "true", "Write one JSON line per request to stderr."),
    Setting("WHARF_DEPENDENTS_CACHE_SECONDS", "5", "How stale dependents totals may be (per-range counts cache)."),
    Setting("WHARF_LICENSE_SIGNING_KEY", "", "Ed25519 private key (PEM file path) that signs license keys."),
    Setting("WHARF_BCRYPT_COST", "12", "bcrypt work factor for new password hashes (4-15)."),
    Setting("WHARF_OPEN_SIGNUP", "true", "Anyone may sign up; false: only site admins create users."),
    Setting("WHARF_AUTH_FAILURES_PER_USER", "10", "Failed sign-ins allowed per username per window."),
    Setting("WHARF_AUTH_FAILURES_PER_ADDRESS", "50", "Failed sign-ins or token uses allowed per client address."),
    Setting("WHARF_AUTH_FAILURE_WINDOW", "300", "Seconds over which failed attempts are counted."),
    Setting(
        "WHARF_TRUSTED_PROXIES",
        "",
        "Comma-separated proxy addresses/CIDRs whose `X-Forwarded-For` is believed (none: the peer is the client).",
    ),
    Setting("WHARF_SIGNUPS_PER_ADDRESS", "20", "Sign-ups allowed per client address per rate window."),
    Setting("WHARF_MAILS_PER_ADDRESS", "20", "Verification mails per client address, and per recipient, per window."),
    Setting("WHARF_SURVEYS_PER_ADDRESS", "10", "Survey answers allowed per client address per rate window."),
    Setting("WHARF_RATE_WINDOW", "3600", "Seconds over which sign-ups, mails and survey answers are counted."),
    Setting("WHARF_DOWNLOAD_COUNT_WINDOW", "3600", "A client counts one download per release per this many seconds."),
    Setting(
        "WHARF_EXTERNAL_ACCOUNT_SECRET",
        "",
        "HMAC key of a provider whose signed assertions let users link external accounts (unset: site admins only).",
    ),
    Setting("WHARF_KEEPALIVE_TIMEOUT", "15", "Seconds to send a request's line and headers; idle keep-alive."),
    Setting("WHARF_BODY_TIMEOUT", "60", "Seconds a client has to send a whole request body (408 beyond)."),
    Setting("WHARF_MAX_HEADER_BYTES", "8190", "Longest request line or header line (400/431 beyond)."),
    Setting("WHARF_MAX_HEADERS", "100", "Most header lines in a request (400/431 beyond)."),
    Setting("WHARF_PARSER_PROCESSES", "2", "Worker processes that render READMEs and parse JSONC settings."),
    Setting("WHARF_PARSER_TIMEOUT", "5", "Seconds a README render or JSONC parse may take (then plain text, or 422)."),
    Setting("WHARF_MAX_DECOMPRESSION_RATIO", "100", "Largest inflation of a compressed body past 1 MiB (413 beyond)."),
    Setting("WHARF_MIGRATIONS_DIR", "(packaged)", "Another migrations folder (read by registry.resources)."),
)


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


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _per_window(name: str, raw: str) -> int:
    return _int(name, raw, minimum=1, maximum=10**6)


def _database_url(name: str, raw: str) -> str | None:
    if not raw:
        return None
    if not raw.startswith(("postgres://", "postgresql://")):
        raise ConfigError(f"{name} must be a postgresql:// URL, got a value starting {raw[:12]!r}")
    return raw


def _size(name: str, raw: str) -> int:
    return _int(name, raw, minimum=1024, maximum=2**31)


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


@dataclass(frozen=True)
class Config:
    """Everything the process needs to know, immutable once read."""

    database_url: str | None = None
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
    downloads_flush_seconds: float = 10.0
    dependents_cache_seconds: float = 5.0
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read and validate every setting; raise ConfigError naming the first bad variable."""
        env = os.environ if environ is None else environ

        def get(name: str, parse: Callable[[str, str], T], default: str) -> T:
            return parse(name, env.get(name, default))

        data_dir = env.get("WHARF_DATA_DIR") or None
        config = cls(
            database_url=get("DATABASE_URL", _database_url, ""),
            data_dir=Path(data_dir).expanduser() if data_dir else None,
            host=env.get("WHARF_HOST", "127.0.0.1") or "127.0.0.1",
            port=get("WHARF_PORT", lambda n, r: _int(n, r, minimum=0, maximum=65535), "8080"),
            workers=get("WHARF_WORKERS", lambda n, r: _int(n, r, minimum=1, maximum=256), "1"),
            auto_migrate=get("WHARF_AUTO_MIGRATE", _bool, "true"),
            max_body_bytes=get("WHARF_MAX_BODY_BYTES", _size, str(1 << 20)),
            max_bundle_bytes=get("WHARF_MAX_BUNDLE_BYTES", _size, str(10 << 20)),
            max_source_map_bytes=get("WHARF_MAX_SOURCE_MAP_BYTES", _size, str(30 << 20)),
            max_manifest_bytes=get("WHARF_MAX_MANIFEST_BYTES", _size, str(1 << 20)),
            public_url=get("WHARF_PUBLIC_URL", _public_url, ""),
            bundle_cache_bytes=get(
                "WHARF_BUNDLE_CACHE_BYTES", lambda n, r: _int(n, r, minimum=0, maximum=2**40), str(256 << 20)
            ),
            downloads_flush_seconds=get("WHARF_DOWNLOADS_FLUSH_SECONDS", lambda n, r: _float(n, r, minimum=0.1), "10"),
            dependents_cache_seconds=get("WHARF_DEPENDENTS_CACHE_SECONDS", lambda n, r: _float(n, r, minimum=0), "5"),
            license_signing_key=Path(env["WHARF_LICENSE_SIGNING_KEY"]).expanduser()
            if env.get("WHARF_LICENSE_SIGNING_KEY")
            else None,
            pool_min_size=get("WHARF_POOL_MIN_SIZE", lambda n, r: _int(n, r, minimum=0, maximum=1000), "1"),
            pool_max_size=get("WHARF_POOL_MAX_SIZE", lambda n, r: _int(n, r, minimum=1, maximum=1000), "10"),
            db_timeout=get("WHARF_DB_TIMEOUT", lambda n, r: _float(n, r, minimum=0.1), "10"),
            log_level=get("WHARF_LOG_LEVEL", _log_level, "INFO"),
            access_log=get("WHARF_ACCESS_LOG", _bool, "true"),
            bcrypt_cost=get("WHARF_BCRYPT_COST", lambda n, r: _int(n, r, minimum=4, maximum=15), "12"),
            open_signup=get("WHARF_OPEN_SIGNUP", _bool, "true"),
            auth_failures_per_user=get(
                "WHARF_AUTH_FAILURES_PER_USER", lambda n, r: _int(n, r, minimum=1, maximum=10**6), "10"
            ),
            auth_failures_per_address=get(
                "WHARF_AUTH_FAILURES_PER_ADDRESS", lambda n, r: _int(n, r, minimum=1, maximum=10**6), "50"
            ),
            auth_failure_window=get("WHARF_AUTH_FAILURE_WINDOW", lambda n, r: _float(n, r, minimum=1), "300"),
            trusted_proxies=get("WHARF_TRUSTED_PROXIES", _trusted_proxies, ""),
            signups_per_address=get("WHARF_SIGNUPS_PER_ADDRESS", _per_window, "20"),
            mails_per_address=get("WHARF_MAILS_PER_ADDRESS", _per_window, "20"),
            surveys_per_address=get("WHARF_SURVEYS_PER_ADDRESS", _per_window, "10"),
            rate_window=get("WHARF_RATE_WINDOW", lambda n, r: _float(n, r, minimum=1), "3600"),
            download_count_window=get("WHARF_DOWNLOAD_COUNT_WINDOW", lambda n, r: _float(n, r, minimum=0), "3600"),
            external_account_secret=get("WHARF_EXTERNAL_ACCOUNT_SECRET", _secret, ""),
            keepalive_timeout=get("WHARF_KEEPALIVE_TIMEOUT", lambda n, r: _float(n, r, minimum=0.1), "15"),
            body_timeout=get("WHARF_BODY_TIMEOUT", lambda n, r: _float(n, r, minimum=0.1), "60"),
            max_header_bytes=get(
                "WHARF_MAX_HEADER_BYTES", lambda n, r: _int(n, r, minimum=1024, maximum=1 << 20), "8190"
            ),
            max_headers=get("WHARF_MAX_HEADERS", lambda n, r: _int(n, r, minimum=8, maximum=10_000), "100"),
            parser_processes=get("WHARF_PARSER_PROCESSES", lambda n, r: _int(n, r, minimum=1, maximum=64), "2"),
            parser_timeout=get("WHARF_PARSER_TIMEOUT", lambda n, r: _float(n, r, minimum=0.01), "5"),
            max_decompression_ratio=get(
                "WHARF_MAX_DECOMPRESSION_RATIO", lambda n, r: _int(n, r, minimum=2, maximum=100_000), "100"
            ),
        )
        if config.pool_min_size > config.pool_max_size:
            raise ConfigError("WHARF_POOL_MIN_SIZE must not exceed WHARF_POOL_MAX_SIZE")
        return config

    @property
    def max_publish_bytes(self) -> int:
        """The largest publish request: bundle and source map (JSON escaping may double them),
        the manifest, and room for the other fields."""
        return 2 * (self.max_bundle_bytes + self.max_source_map_bytes) + self.max_manifest_bytes + 65536

    def with_overrides(self, **changes: Any) -> Config:
        """A copy with command-line values applied; `None` means "not given on the command line"."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
