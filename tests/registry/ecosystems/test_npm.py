"""npm: package.json sections, verbatim ranges, workspaces and bundled dependencies."""

from __future__ import annotations

import pytest

from registry.ecosystems import npm
from registry.ecosystems.base import ManifestError, PackageDef
from tests.registry.ecosystems.support import assert_defines, dep, names, of_type, parse_corpus, parse_text

VITE = ("npm", "vitejs__vite", "packages/vite/package.json")
TSE = "typescript-eslint__typescript-eslint"


def test_vite_defines_itself_and_declares_all_four_sections() -> None:
    result = parse_corpus(npm, *VITE)
    assert_defines(result, "npm", [PackageDef("vite", "8.2.2", "packages/vite/package.json")])
    counts = {t: len(of_type(result, t)) for t in npm._RANGE_SECTIONS}
    assert counts == {"dependencies": 5, "devDependencies": 56, "peerDependencies": 12, "optionalDependencies": 1}


def test_vite_ranges_are_stored_verbatim() -> None:
    result = parse_corpus(npm, *VITE)
    assert dep(result, "rolldown", "dependencies").declared_range == "~1.2.4"
    assert dep(result, "esbuild", "peerDependencies").declared_range == "^0.27.0 || ^0.28.0"
    assert dep(result, "@types/node", "peerDependencies").declared_range == "^20.19.0 || >=22.12.0"
    assert dep(result, "fsevents", "optionalDependencies").declared_range == "~2.3.3"
    assert dep(result, "@rollup/plugin-dynamic-import-vars", "devDependencies").declared_range == "2.1.4"


def test_peers_marked_optional_in_peer_dependencies_meta_carry_an_optional_hint() -> None:
    result = parse_corpus(npm, *VITE)
    esbuild = dep(result, "esbuild", "peerDependencies")
    assert esbuild.hints == {"optional": True}
    assert esbuild.hint_data() == {"path": "packages/vite/package.json", "optional": True}
    assert dep(result, "esbuild", "devDependencies").hints == {}


def test_monorepo_root_without_version_defines_a_package_with_no_version() -> None:
    result = parse_corpus(npm, "npm", TSE, "package.json")
    assert result.packages == [PackageDef("@typescript-eslint/typescript-eslint", None, "package.json")]
    assert len(of_type(result, "devDependencies")) == 52
    assert dep(result, "eslint").declared_range == "catalog:"
    assert dep(result, "@typescript-eslint/parser").declared_range == "workspace:^"


def test_workspace_members_are_parsed_on_their_own_with_workspace_protocol_ranges() -> None:
    result = parse_corpus(npm, "npm", TSE, "packages/eslint-plugin/package.json")
    assert result.packages == [PackageDef("@typescript-eslint/eslint-plugin", "8.67.0", result.packages[0].path)]
    assert dep(result, "@typescript-eslint/utils", "dependencies").declared_range == "workspace:*"
    assert dep(result, "@typescript-eslint/parser", "peerDependencies").declared_range == "workspace:^"
    assert dep(result, "typescript", "peerDependencies").declared_range == ">=4.8.4 <6.1.0"
    assert dep(result, "@typescript-eslint/utils").path == "packages/eslint-plugin/package.json"


def test_unusual_specifiers_are_ranges_too() -> None:
    result = parse_text(
        npm,
        "package.json",
        """{"name": "app", "workspaces": ["packages/*"], "dependencies": {
            "alias": "npm:other@^1", "gitdep": "git+https://github.com/a/b.git#v1", "local": "file:../local",
            "any": "*", "tag": "latest", "cat": "catalog:react18", "empty": ""}}""",
    )
    assert {d.package: d.declared_range for d in result.dependencies} == {
        "alias": "npm:other@^1",
        "gitdep": "git+https://github.com/a/b.git#v1",
        "local": "file:../local",
        "any": "*",
        "tag": "latest",
        "cat": "catalog:react18",
        "empty": "",
    }


def test_bundled_dependencies_take_their_range_from_dependencies() -> None:
    result = parse_text(
        npm,
        "package.json",
        '{"dependencies": {"a": "^1.0.0"}, "bundledDependencies": ["a", "b"], "bundleDependencies": ["a"]}',
    )
    bundled = of_type(result, "bundledDependencies")
    assert [(d.package, d.declared_range) for d in bundled] == [("a", "^1.0.0"), ("b", "")]


def test_bundle_dependencies_true_bundles_every_dependency() -> None:
    result = parse_text(npm, "package.json", '{"dependencies": {"a": "1", "b": "2"}, "bundleDependencies": true}')
    assert [(d.package, d.declared_range) for d in of_type(result, "bundledDependencies")] == [("a", "1"), ("b", "2")]


def test_without_a_name_no_package_is_defined() -> None:
    result = parse_text(npm, "package.json", '{"private": true, "version": "1.0.0", "devDependencies": {"x": "1"}}')
    assert result.packages == []
    assert names(result.dependencies) == ["x"]


@pytest.mark.parametrize(
    "text",
    [
        '{"dependencies": ["a"]}',
        '{"dependencies": {"a": 1, "b": null, "c": {"version": "1"}}}',
        '{"dependencies": null, "peerDependenciesMeta": [], "bundledDependencies": "a"}',
        '{"name": 42, "version": 1}',
    ],
    ids=["list-section", "non-string-ranges", "null-sections", "non-string-name"],
)
def test_odd_shapes_npm_ignores_are_ignored(text: str) -> None:
    result = parse_text(npm, "package.json", text)
    assert result.dependencies == []
    assert result.packages == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"name": "x",', "invalid JSON"),
        (b"", "invalid JSON"),
        (b"\xff\xfe\x00", "invalid JSON"),
        (b'["a", "b"]', "JSON object"),
        (b'"just a string"', "JSON object"),
    ],
    ids=["truncated", "empty", "not-utf8", "array", "string"],
)
def test_malformed_package_json_raises_manifest_error(data: bytes, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        npm.parse("package.json", data, lambda _: None)


def test_a_bom_is_tolerated() -> None:
    result = npm.parse("package.json", b'\xef\xbb\xbf{"name": "bom"}', lambda _: None)
    assert result.packages == [PackageDef("bom", None, "package.json")]
