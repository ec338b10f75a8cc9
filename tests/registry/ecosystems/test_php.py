"""PHP: composer.json require / require-dev, platform requirements and `||` ranges."""

from __future__ import annotations

import pytest

from registry.ecosystems import php
from registry.ecosystems.base import ManifestError, PackageDef
from tests.registry.ecosystems.support import assert_defines, dep, names, of_type, parse_corpus, parse_text

LARAVEL = ("php", "laravel__framework", "composer.json")
COMPOSER = ("php", "composer__composer", "composer.json")


def test_laravel_defines_itself_without_a_version() -> None:
    result = parse_corpus(php, *LARAVEL)
    assert_defines(result, "php", [PackageDef("laravel/framework", None, "composer.json")])
    assert (len(of_type(result, "require")), len(of_type(result, "require-dev"))) == (49, 25)


def test_laravel_platform_requirements_are_dependencies_flagged_as_platform() -> None:
    result = parse_corpus(php, *LARAVEL)
    php_req = dep(result, "php")
    assert (php_req.declared_range, php_req.dep_type, php_req.hints) == ("^8.3", "require", {"platform": True})
    assert dep(result, "ext-mbstring").hints == {"platform": True}
    assert dep(result, "composer-runtime-api").declared_range == "^2.2"
    assert dep(result, "ext-gmp").dep_type == "require-dev"
    assert dep(result, "monolog/monolog").hints == {}


def test_laravel_or_ranges_are_stored_verbatim() -> None:
    result = parse_corpus(php, *LARAVEL)
    assert dep(result, "guzzlehttp/guzzle").declared_range == "^7.8.2 || ^8.0"
    assert dep(result, "brick/math").declared_range == "^0.14.2 || ^0.15 || ^0.16 || ^0.17 || ^0.18 || ^0.19"
    assert dep(result, "phpunit/phpunit").declared_range == "^11.5.50 || ^12.5.8 || ^13.0.3"


def test_replace_provide_conflict_and_suggest_are_not_dependencies() -> None:
    declared = names(parse_corpus(php, *LARAVEL).dependencies)
    for absent in ("illuminate/auth", "spatie/once", "psr/log-implementation", "tightenco/collect", "laravel/tinker"):
        assert absent not in declared


def test_composer_platform_and_regular_requirements() -> None:
    result = parse_corpus(php, *COMPOSER)
    assert result.packages == [PackageDef("composer/composer", None, "composer.json")]
    assert dep(result, "ext-json").hints == {"platform": True}
    assert dep(result, "php").declared_range == "^7.2.5 || ^8.0"
    assert dep(result, "composer/semver").hints == {}
    # config.platform.php is a build setting, not a requirement
    assert len(of_type(result, "require")) == 25


def test_names_are_lowercased_and_odd_entries_skipped() -> None:
    text = """{"name": "Acme/Widget", "version": "1.2.0",
        "require": {"Symfony/Console": "^6.0", "lib-ICU": ">=60", "php-64bit": "*", "bad": 5, "hhvm": "*"},
        "require-dev": ["not", "an", "object"]}"""
    result = parse_text(php, "composer.json", text)
    assert result.packages == [PackageDef("acme/widget", "1.2.0", "composer.json")]
    assert [(d.package, d.hints) for d in result.dependencies] == [
        ("symfony/console", {}),
        ("lib-icu", {"platform": True}),
        ("php-64bit", {"platform": True}),
        ("hhvm", {"platform": True}),
    ]


def test_extension_like_names_with_a_vendor_are_not_platform() -> None:
    result = parse_text(php, "composer.json", '{"require": {"ext-vendor/pkg": "1", "phpunit/phpunit": "1"}}')
    assert [d.hints for d in result.dependencies] == [{}, {}]


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"{", "invalid JSON"), (b"[]", "JSON object"), (b"null", "JSON object"), (b"\xff", "invalid JSON")],
    ids=["truncated", "array", "null", "not-utf8"],
)
def test_malformed_composer_json_raises_manifest_error(data: bytes, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        php.parse("composer.json", data, lambda _: None)
