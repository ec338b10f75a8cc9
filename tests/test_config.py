"""Configuration from the environment: defaults, overrides, and errors that name the variable."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from registry.config import SETTINGS, Config, ConfigError


def test_defaults_need_no_environment() -> None:
    config = Config.from_env({})
    assert (config.database_url, config.host, config.port, config.workers) == (None, "127.0.0.1", 8080, 1)
    assert config.auto_migrate is True
    assert config.max_body_bytes == 1024 * 1024
    assert (config.max_bundle_bytes, config.max_source_map_bytes) == (10 << 20, 30 << 20)


def test_every_setting_is_read() -> None:
    config = Config.from_env(
        {
            "DATABASE_URL": "postgresql://u@h/db",
            "WHARF_DATA_DIR": "~/wharf",
            "WHARF_HOST": "0.0.0.0",
            "WHARF_PORT": "9000",
            "WHARF_WORKERS": "4",
            "WHARF_AUTO_MIGRATE": "false",
            "WHARF_MAX_BODY_BYTES": "4096",
            "WHARF_POOL_MIN_SIZE": "2",
            "WHARF_POOL_MAX_SIZE": "20",
            "WHARF_DB_TIMEOUT": "2.5",
            "WHARF_LOG_LEVEL": "debug",
            "WHARF_ACCESS_LOG": "off",
        }
    )
    assert config.database_url == "postgresql://u@h/db"
    assert config.data_dir == Path("~/wharf").expanduser()
    assert (config.host, config.port, config.workers, config.auto_migrate) == ("0.0.0.0", 9000, 4, False)
    assert (config.max_body_bytes, config.pool_min_size, config.pool_max_size) == (4096, 2, 20)
    assert (config.db_timeout, config.log_level, config.access_log) == (2.5, "DEBUG", False)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("WHARF_PORT", "http", "WHARF_PORT must be an integer, got 'http'"),
        ("WHARF_PORT", "70000", "WHARF_PORT must be between 0 and 65535, got 70000"),
        ("WHARF_WORKERS", "0", "WHARF_WORKERS must be between 1 and 256, got 0"),
        ("WHARF_AUTO_MIGRATE", "maybe", "WHARF_AUTO_MIGRATE must be true or false, got 'maybe'"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL must be a postgresql:// URL"),
        ("WHARF_DB_TIMEOUT", "soon", "WHARF_DB_TIMEOUT must be a number, got 'soon'"),
        ("WHARF_LOG_LEVEL", "LOUD", "WHARF_LOG_LEVEL must be one of"),
        ("WHARF_MAX_BODY_BYTES", "10", "WHARF_MAX_BODY_BYTES must be between 1024"),
        ("WHARF_GIT_ALLOWED_SCHEMES", "https,file", "schemes among https, http, ssh, git (local sources: WHARF_GIT"),
        ("WHARF_GIT_ALLOWED_SCHEMES", "ext", "WHARF_GIT_ALLOWED_SCHEMES must be comma-separated schemes"),
        ("WHARF_GIT_ALLOWED_HOSTS", "github.com, a b", "WHARF_GIT_ALLOWED_HOSTS must be comma-separated host names"),
        ("WHARF_GIT_ALLOWED_HOSTS", "https://github.com", "WHARF_GIT_ALLOWED_HOSTS must be comma-separated"),
        ("WHARF_GIT_PER_HOST", "0", "WHARF_GIT_PER_HOST must be between 1 and 1000, got 0"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Config.from_env({variable: value})


def test_pool_bounds_must_be_ordered() -> None:
    with pytest.raises(ConfigError, match="WHARF_POOL_MIN_SIZE must not exceed WHARF_POOL_MAX_SIZE"):
        Config.from_env({"WHARF_POOL_MIN_SIZE": "5", "WHARF_POOL_MAX_SIZE": "2"})


def test_command_line_overrides_ignore_absent_values() -> None:
    config = Config.from_env({"WHARF_PORT": "9000"}).with_overrides(port=None, host="::1")
    assert (config.port, config.host) == (9000, "::1")


def test_every_config_field_has_exactly_one_variable() -> None:
    named = [setting.field for setting in SETTINGS if setting.field]
    assert sorted(named) == sorted(field.name for field in fields(Config))


def test_an_empty_path_or_host_keeps_the_default() -> None:
    config = Config.from_env({"WHARF_HOST": "", "WHARF_DATA_DIR": "", "WHARF_LICENSE_SIGNING_KEY": ""})
    assert (config.host, config.data_dir, config.license_signing_key) == ("127.0.0.1", None, None)


def test_git_sources_are_read_from_the_environment() -> None:
    config = Config.from_env(
        {
            "WHARF_GIT_ALLOWED_SCHEMES": "HTTPS, ssh",
            "WHARF_GIT_ALLOWED_HOSTS": "GitHub.com., *.corp.example, 10.0.0.7",
            "WHARF_GIT_ALLOW_LOCAL": "yes",
            "WHARF_GIT_MIRROR_DIR": "/var/cache/wharf/mirrors",
            "WHARF_GIT_TIMEOUT": "30",
            "WHARF_GIT_MAX_BYTES": str(1 << 28),
            "WHARF_GIT_PER_HOST": "2",
        }
    )
    assert config.git_allowed_schemes == ("https", "ssh")
    assert config.git_allowed_hosts == ("github.com", "*.corp.example", "10.0.0.7")
    assert (config.git_allow_local, config.git_mirror_dir) == (True, Path("/var/cache/wharf/mirrors"))
    assert (config.git_timeout, config.git_max_bytes, config.git_per_host) == (30.0, 1 << 28, 2)
    assert Config().git_allow_local is False, "local sources are off unless the operator turns them on"
