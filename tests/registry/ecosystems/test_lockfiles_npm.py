"""npm lockfiles on real projects: package-lock v1/v2/v3, yarn classic and Berry, pnpm 5.4/6.0/9.0.

Every number below was read off the fixture itself (tests/fixtures/lockfiles, see SOURCES.md).
The hand-written locks at the end fill what the corpus lacks (shrinkwrap, pnpm 7, workspaces);
they are marked as hand-written.
"""

from __future__ import annotations

import json

from tests.registry.ecosystems.support import locked, parse_lock_fixture, parse_lock_text, shortest_path, versions

UUID = ("npm", "uuidjs__uuid", "package-lock.json")  # lockfileVersion 1
HELMET = ("npm", "helmetjs__helmet", "package-lock.json")  # lockfileVersion 2
COMMANDER = ("npm", "tj__commander.js", "package-lock.json")  # lockfileVersion 3
PROP_TYPES = ("npm", "facebook__prop-types", "yarn.lock")  # yarn classic v1
REDUX_THUNK = ("npm", "reduxjs__redux-thunk", "yarn.lock")  # Berry, __metadata.version 8
NI = ("npm", "antfu__ni", "pnpm-lock.yaml")  # lockfileVersion 5.4
DEFU = ("npm", "unjs__defu", "pnpm-lock.yaml")  # lockfileVersion '6.0'
UFO = ("npm", "unjs__ufo", "pnpm-lock.yaml")  # lockfileVersion '9.0'


# --- package-lock.json -----------------------------------------------------------------------------


def test_lock_v1_nested_tree_gives_one_row_per_package_version() -> None:
    result = parse_lock_fixture(*UUID)
    assert result.language == "npm"
    assert len(result.dependencies) == 410  # distinct (name, version) in the nested `dependencies`
    assert versions(result, "chalk") == ["2.3.1", "2.4.2"]  # 2.3.1 at the top, 2.4.2 nested
    assert {d.path for d in result.dependencies} == {"package-lock.json"}


def test_lock_v1_direct_ones_come_from_package_json() -> None:
    result = parse_lock_fixture(*UUID)
    direct = sorted(d.package for d in result.dependencies if d.direct)
    assert direct == [
        "@commitlint/cli",
        "@commitlint/config-conventional",
        "eslint",
        "husky",
        "mocha",
        "runmd",
        "standard-version",
    ]
    eslint = locked(result, "eslint")
    assert (eslint.version, eslint.depth, eslint.parents, eslint.dev) == ("6.4.0", 1, (), True)


def test_lock_v1_transitive_depth_and_parents() -> None:
    result = parse_lock_fixture(*UUID)
    code_frame = locked(result, "@babel/code-frame", "7.5.5")
    assert (code_frame.direct, code_frame.depth, code_frame.dev) == (False, 2, True)
    assert "eslint@6.4.0" in code_frame.parents
    highlight = locked(result, "@babel/highlight", "7.5.0")
    assert (highlight.depth, highlight.parents) == (3, ("@babel/code-frame@7.5.5",))
    assert shortest_path(result, "@babel/highlight", "7.5.0") == [
        "eslint@6.4.0",
        "@babel/code-frame@7.5.5",
        "@babel/highlight@7.5.0",
    ]


def test_lock_v2_resolves_nested_node_modules_before_the_top_level() -> None:
    result = parse_lock_fixture(*HELMET)
    assert len(result.dependencies) == 292
    assert versions(result, "readable-stream") == ["2.3.8", "3.6.2"]
    nested = locked(result, "readable-stream", "3.6.2")  # node_modules/bl/node_modules/readable-stream
    assert "bl@4.1.0" in nested.parents
    assert "bl@4.1.0" not in locked(result, "readable-stream", "2.3.8").parents


def test_lock_v2_root_entry_lists_the_direct_dev_dependencies() -> None:
    result = parse_lock_fixture(*HELMET)
    direct = [d for d in result.dependencies if d.direct]
    assert len(direct) == 17  # helmet's package.json: 17 devDependencies and no dependencies
    assert all(d.dev and d.depth == 1 and d.parents == () for d in direct)
    assert locked(result, "typescript").version == "6.0.3"


def test_lock_v2_optional_flag_is_npms_own() -> None:
    result = parse_lock_fixture(*HELMET)
    code_frame = locked(result, "@babel/code-frame", "7.29.0")  # "dev": true, "optional": true
    assert (code_frame.dev, code_frame.optional) == (True, True)


def test_lock_v3_two_versions_and_the_path_to_the_nested_one() -> None:
    result = parse_lock_fixture(*COMMANDER)
    assert len(result.dependencies) == 204
    assert versions(result, "glob-parent") == ["5.1.2", "6.0.2"]
    old = locked(result, "glob-parent", "5.1.2")  # node_modules/fast-glob/node_modules/glob-parent
    assert old.parents == ("fast-glob@3.3.3",)
    assert old.depth == locked(result, "fast-glob", "3.3.3").depth + 1
    assert all(d.dev for d in result.dependencies)  # commander has no runtime dependencies
    assert len([d for d in result.dependencies if d.direct]) == 9


# --- yarn.lock -------------------------------------------------------------------------------------


def test_yarn_classic_entries_and_descriptors() -> None:
    result = parse_lock_fixture(*PROP_TYPES)
    assert len(result.dependencies) == 545  # one per entry; no two entries share a version
    assert versions(result, "js-tokens") == ["3.0.2", "4.0.0"]
    react_is = locked(result, "react-is", "16.13.1")
    assert (react_is.direct, react_is.dev) == (True, False)


def test_yarn_classic_runtime_dependency_and_its_child_are_not_dev() -> None:
    result = parse_lock_fixture(*PROP_TYPES)
    prod_direct = sorted(d.package for d in result.dependencies if d.direct and not d.dev)
    assert prod_direct == ["loose-envify", "object-assign", "react-is"]
    tokens = locked(result, "js-tokens", "4.0.0")  # `js-tokens "^3.0.0 || ^4.0.0"` under loose-envify
    assert (tokens.depth, tokens.dev) == (2, False)
    assert "loose-envify@1.4.0" in tokens.parents
    assert locked(result, "eslint").dev is True


def test_yarn_berry_workspace_entry_gives_the_direct_ones() -> None:
    result = parse_lock_fixture(*REDUX_THUNK)
    direct = sorted(d.package for d in result.dependencies if d.direct)
    assert len(direct) == 13 and "tsup" in direct and "redux" in direct
    assert all(d.dev for d in result.dependencies if d.direct)  # package.json: devDependencies only
    assert not any(d.package == "redux-thunk" for d in result.dependencies)  # the workspace itself
    assert locked(result, "typescript").version == "5.8.2"  # a patched entry and its original: one row


def test_yarn_berry_three_esbuilds_each_with_its_own_parent() -> None:
    result = parse_lock_fixture(*REDUX_THUNK)
    assert versions(result, "esbuild") == ["0.18.20", "0.21.5", "0.25.1"]
    assert locked(result, "esbuild", "0.18.20").parents == ("tsup@7.0.0",)
    assert locked(result, "esbuild", "0.25.1").parents == ("tsx@4.19.3",)
    assert locked(result, "esbuild", "0.21.5").depth == 3  # vitest -> vite -> esbuild
    assert locked(result, "fsevents", "2.3.3").hints["conditions"] == "os=darwin"


# --- pnpm-lock.yaml --------------------------------------------------------------------------------


def test_pnpm_5_4_slash_keys_and_peer_suffixes() -> None:
    result = parse_lock_fixture(*NI)
    assert len(result.dependencies) == 516
    config = locked(result, "@antfu/eslint-config")  # /@antfu/eslint-config/0.34.1_7uibuqfxkfaozanbtbziikiqje
    assert (config.version, config.direct, config.dev) == ("0.34.1", True, True)
    vue = locked(result, "@antfu/eslint-config-vue", "0.34.1")
    assert vue.depth == 2 and "@antfu/eslint-config@0.34.1" in vue.parents
    assert versions(result, "ansi-styles") == ["3.2.1", "4.3.0"]
    assert len([d for d in result.dependencies if d.direct]) == 21


def test_pnpm_6_at_keys_and_importer_specifiers() -> None:
    result = parse_lock_fixture(*DEFU)
    assert len(result.dependencies) == 584
    coverage = locked(result, "@vitest/coverage-v8")  # version: 1.1.3(vitest@1.1.3)
    assert (coverage.version, coverage.direct) == ("1.1.3", True)
    remapping = locked(result, "@ampproject/remapping", "2.2.1")
    assert remapping.depth == 2
    assert remapping.parents == ("@babel/core@7.23.7", "@vitest/coverage-v8@1.1.3")


def test_pnpm_9_snapshots_hold_the_graph_and_dev_is_computed() -> None:
    result = parse_lock_fixture(*UFO)
    assert len(result.dependencies) == 474
    vitest = locked(result, "vitest")  # 4.0.17(@types/node@25.0.8)(jiti@2.6.1)
    assert (vitest.version, vitest.direct, vitest.dev) == ("4.0.17", True, True)
    assert all(d.dev for d in result.dependencies)  # ufo's importer has devDependencies only
    code_frame = locked(result, "@babel/code-frame", "7.28.6")
    assert code_frame.optional is True and code_frame.parents == ("rollup-plugin-dts@6.3.0",)


# --- hand-written locks for what the corpus lacks -----------------------------------------------------

# Hand-written: an npm-shrinkwrap.json (same format as package-lock v3) of a two-member workspace.
SHRINKWRAP_WORKSPACE = {
    "name": "mono",
    "lockfileVersion": 3,
    "packages": {
        "": {"name": "mono", "workspaces": ["packages/*"], "devDependencies": {"jest": "^29"}},
        "packages/api": {"name": "@mono/api", "version": "1.0.0", "dependencies": {"express": "^4", "@mono/ui": "*"}},
        "packages/ui": {"name": "@mono/ui", "version": "1.0.0", "dependencies": {"react": "^18"}},
        "node_modules/@mono/api": {"resolved": "packages/api", "link": True},
        "node_modules/@mono/ui": {"resolved": "packages/ui", "link": True},
        "node_modules/express": {"version": "4.19.2", "dependencies": {"qs": "6.11.0"}},
        "node_modules/qs": {"version": "6.11.0"},
        "node_modules/react": {"version": "18.3.1", "dependencies": {"loose-envify": "^1.1.0"}},
        "node_modules/loose-envify": {"version": "1.4.0"},
        "node_modules/jest": {"version": "29.7.0", "dev": True},
        "packages/ui/node_modules/qs": {"version": "6.5.0"},
    },
}


def test_shrinkwrap_workspace_members_are_roots_and_links_are_not_rows() -> None:
    result = parse_lock_text("npm", "npm-shrinkwrap.json", json.dumps(SHRINKWRAP_WORKSPACE))
    keys = [d.key for d in result.dependencies]
    assert keys == ["express@4.19.2", "jest@29.7.0", "loose-envify@1.4.0", "qs@6.11.0", "qs@6.5.0", "react@18.3.1"]
    express = locked(result, "express")
    assert (express.direct, express.hints["importers"]) == (True, ["packages/api"])
    assert locked(result, "react").hints["importers"] == ["packages/ui"]
    assert (locked(result, "qs", "6.11.0").depth, locked(result, "qs", "6.11.0").parents) == (2, ("express@4.19.2",))
    assert locked(result, "jest").dev is True and locked(result, "express").dev is False
    assert locked(result, "qs", "6.5.0").depth == 0  # installed under ui, required by nobody: unreached


# Hand-written: pnpm lockfile 7.0 (pnpm 8's experimental format: 6.x keys in a workspace).
PNPM_7_WORKSPACE = """\
lockfileVersion: '7.0'
importers:
  .:
    devDependencies:
      typescript: {specifier: ^5.0.0, version: 5.1.6}
  packages/app:
    dependencies:
      lib: {specifier: workspace:*, version: link:../lib}
      react-dom: {specifier: ^18.2.0, version: 18.2.0(react@18.2.0)}
  packages/lib:
    dependencies:
      react: {specifier: ^18.2.0, version: 18.2.0}
packages:
  /typescript@5.1.6: {resolution: {integrity: sha512-x}, dev: true}
  /react@18.2.0:
    resolution: {integrity: sha512-y}
    dependencies: {loose-envify: 1.4.0}
    dev: false
  /react-dom@18.2.0(react@18.2.0):
    resolution: {integrity: sha512-z}
    dependencies: {loose-envify: 1.4.0, react: 18.2.0, scheduler: 0.23.0}
    dev: false
  /loose-envify@1.4.0: {resolution: {integrity: sha512-w}, dev: false}
  /scheduler@0.23.0:
    resolution: {integrity: sha512-v}
    dependencies: {loose-envify: 1.4.0}
    dev: false
"""


def test_pnpm_7_workspace_importers_and_link_references() -> None:
    result = parse_lock_text("npm", "pnpm-lock.yaml", PNPM_7_WORKSPACE)
    assert [d.key for d in result.dependencies] == [
        "loose-envify@1.4.0",
        "react@18.2.0",
        "react-dom@18.2.0",
        "scheduler@0.23.0",
        "typescript@5.1.6",
    ]
    assert locked(result, "react").hints["importers"] == ["packages/lib"]
    assert locked(result, "react-dom").hints["importers"] == ["packages/app"]
    scheduler = locked(result, "scheduler")
    assert (scheduler.depth, scheduler.parents, scheduler.dev) == (2, ("react-dom@18.2.0",), False)
    assert locked(result, "loose-envify").parents == ("react-dom@18.2.0", "react@18.2.0", "scheduler@0.23.0")
    assert locked(result, "typescript").dev is True
