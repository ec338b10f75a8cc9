"""The manifest schema: what a valid extension manifest is, and how violations are reported."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from registry.domain.errors import PayloadTooLarge, Unprocessable
from registry.manifests import ManifestValidator, publication_warnings

VALID: dict[str, Any] = {
    "title": "Word count",
    "description": "Counts words in files.",
    "publisher": "alice",
    "activationEvents": ["*", "onLanguage:typescript"],
    "categories": ["Code analysis"],
    "tags": ["words", "stats"],
    "repository": {"type": "git", "url": "https://example.com/alice/word-count", "directory": "ext"},
    "icon": "data:image/png;base64,iVBORw0KGgo=",
    "contributes": {
        "actions": [
            {"id": "wc.toggle", "command": "updateConfiguration", "title": "Toggle", "actionItem": {"label": "WC"}}
        ],
        "menus": {"editor/title": [{"action": "wc.toggle", "when": "resource"}]},
        "configuration": {"properties": {"wc.enabled": {"type": "boolean"}}},
        "views": [{"id": "wc.panel", "where": "panel"}],
        "searchFilters": [{"name": "TODOs", "value": "TODO"}],
    },
    "wip": False,
    "main": "dist/extension.js",
    "version": "1.2.3",
    "dependencies": {"sourcegraph": "^25"},
}


@pytest.fixture(scope="module")
def validator() -> ManifestValidator:
    return ManifestValidator(max_bytes=1 << 20)


def test_a_complete_manifest_is_valid_as_object_or_text(validator: ManifestValidator) -> None:
    as_object = validator.parse(VALID)
    as_text = validator.parse(orjson.dumps(VALID, option=orjson.OPT_INDENT_2).decode())
    assert as_object.data == as_text.data
    assert as_object.sha256 == as_text.sha256, "the fingerprint ignores formatting and key order"
    assert as_object.categories == ["Code analysis"]


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"activationEvents": None}, "/manifest/activationEvents"),
        ({"activationEvents": []}, "/manifest/activationEvents"),
        ({"activationEvents": ["onStartup"]}, "/manifest/activationEvents/0"),
        ({"description": "x" * 281}, "/manifest/description"),
        ({"categories": ["Games"]}, "/manifest/categories/0"),
        ({"tags": ["t"] * 33}, "/manifest/tags"),
        ({"tags": ["has space"]}, "/manifest/tags/0"),
        ({"tags": ["x" * 65]}, "/manifest/tags/0"),
        ({"icon": "https://example.com/icon.png"}, "/manifest/icon"),
        ({"icon": "data:image/png;base64," + "A" * 140_000}, "/manifest/icon"),
        ({"repository": {"type": "git"}}, "/manifest/repository/url"),
        ({"contributes": {"actions": [{"title": "no id"}]}}, "/manifest/contributes/actions/0/id"),
        ({"contributes": {"commands": []}}, "/manifest/contributes"),
        ({"url": "javascript:alert(1)"}, "/manifest/url"),
        ({"wip": "yes"}, "/manifest/wip"),
        ({"title": ""}, "/manifest/title"),
    ],
)
def test_each_violation_is_reported_at_its_pointer(
    validator: ManifestValidator, change: dict[str, Any], pointer: str
) -> None:
    manifest = {**VALID, **change}
    if change.get("activationEvents", "") is None:
        del manifest["activationEvents"]
    with pytest.raises(Unprocessable) as invalid:
        validator.parse(manifest)
    assert pointer in [error["pointer"] for error in invalid.value.errors or []]


@pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "42", "{not json", [1, 2], None])
def test_a_manifest_must_be_a_json_object(validator: ManifestValidator, raw: Any) -> None:
    with pytest.raises(Unprocessable) as invalid:
        validator.parse(raw)
    assert invalid.value.errors == [{"pointer": "/manifest", "message": invalid.value.errors[0]["message"]}]


def test_an_oversized_manifest_is_413() -> None:
    small = ManifestValidator(max_bytes=2048)
    with pytest.raises(PayloadTooLarge):
        small.parse({**VALID, "readme": "x" * 4096})
    with pytest.raises(PayloadTooLarge):
        small.parse(orjson.dumps({**VALID, "readme": "x" * 4096}).decode())


@pytest.mark.parametrize(
    ("fields", "wip"),
    [
        ({}, False),
        ({"wip": True}, True),
        ({"title": "WIP: counter"}, True),
        ({"title": "[WIP] counter"}, True),
        ({"title": "Wipe"}, False),
    ],
)
def test_work_in_progress_is_derived_as_sourcegraph_did(
    validator: ManifestValidator, fields: dict[str, Any], wip: bool
) -> None:
    assert validator.parse({**VALID, **fields}).wip is wip


def test_warnings_name_what_a_publisher_forgot(validator: ManifestValidator) -> None:
    bare = validator.parse({"activationEvents": ["*"], "url": "https://cdn.example.com/x.js"})
    pointers = [w["pointer"] for w in publication_warnings(bare, has_source_map=False)]
    assert pointers == ["/source_map", "/manifest/repository", "/manifest/description", "/manifest/url"]
    assert publication_warnings(validator.parse(VALID), has_source_map=True) == []
