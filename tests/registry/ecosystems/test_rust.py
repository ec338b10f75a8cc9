"""Rust: Cargo.toml sections, target tables, renamed crates and workspace inheritance."""

from __future__ import annotations

import pytest

from registry.ecosystems import rust
from registry.ecosystems.base import ManifestError, PackageDef
from tests.registry.ecosystems.support import assert_defines, dep, names, of_type, parse_corpus, parse_text

MIO = ("rust", "tokio-rs__mio", "Cargo.toml")
HELIX = ("rust", "helix-editor__helix")


def test_mio_defines_itself_and_its_plain_dependencies() -> None:
    result = parse_corpus(rust, *MIO)
    assert_defines(result, "rust", [PackageDef("mio", "1.2.2", "Cargo.toml")])
    log = dep(result, "log")
    assert (log.declared_range, log.dep_type, log.hints) == ("0.4.8", "dependencies", {"optional": True})
    assert [(d.package, d.declared_range) for d in of_type(result, "dev-dependencies")] == [
        ("env_logger", "0.11"),
        ("rand", "0.9"),
    ]


def test_mio_target_specific_dependencies_carry_their_cfg() -> None:
    result = parse_corpus(rust, *MIO)
    libc = dep(result, "libc")
    assert (libc.declared_range, libc.dep_type) == ("0.2.183", "dependencies")
    assert libc.hints == {"target": 'cfg(any(unix, target_os = "hermit", target_os = "wasi"))'}
    assert dep(result, "wasi").hints == {"target": 'cfg(target_os = "wasi")'}


def test_mio_dotted_target_table_form_is_one_dependency() -> None:
    windows_sys = dep(parse_corpus(rust, *MIO), "windows-sys")
    assert (windows_sys.declared_range, windows_sys.dep_type) == ("0.61", "dependencies")
    assert windows_sys.hints == {"target": "cfg(windows)"}


def test_helix_virtual_workspace_root_defines_and_depends_on_nothing() -> None:
    result = parse_corpus(rust, *HELIX, "Cargo.toml")
    assert (result.packages, result.dependencies) == ([], [])


def test_helix_members_inherit_the_workspace_version() -> None:
    core = parse_corpus(rust, *HELIX, "helix-core/Cargo.toml")
    assert core.packages == [PackageDef("helix-core", "25.7.1", "helix-core/Cargo.toml")]
    term = parse_corpus(rust, *HELIX, "helix-term/Cargo.toml")
    assert term.packages == [PackageDef("helix-term", "25.7.1", "helix-term/Cargo.toml")]


def test_helix_workspace_dependencies_resolve_to_the_declared_version() -> None:
    core = parse_corpus(rust, *HELIX, "helix-core/Cargo.toml")
    ropey = dep(core, "ropey")
    assert (ropey.declared_range, ropey.hints) == ("1.6.1", {"workspace": True})
    assert dep(core, "tree-house").declared_range == "0.4"
    quickcheck = dep(core, "quickcheck")
    assert (quickcheck.declared_range, quickcheck.dep_type) == ("1", "dev-dependencies")
    assert dep(core, "unicode-width").declared_range == "=0.1.12"
    assert dep(core, "helix-stdx").hints == {"local_path": "../helix-stdx"}
    # `{ workspace = true, features = [...] }` in helix-term resolves the same way.
    assert dep(parse_corpus(rust, *HELIX, "helix-term/Cargo.toml"), "termina").declared_range == "0.3"


def test_helix_renamed_dependency_is_stored_under_its_package_name() -> None:
    term = parse_corpus(rust, *HELIX, "helix-term/Cargo.toml")
    assert "tui" not in names(term.dependencies)
    tui = dep(term, "helix-tui")
    assert (tui.declared_range, tui.hints) == ("", {"alias": "tui", "local_path": "../helix-tui"})


def test_helix_build_and_target_specific_dependencies() -> None:
    term = parse_corpus(rust, *HELIX, "helix-term/Cargo.toml")
    assert names(of_type(term, "build-dependencies")) == ["helix-loader"]
    assert dep(term, "crossterm").hints == {"target": "cfg(windows)"}
    assert dep(term, "libc").hints == {"target": "cfg(not(windows))"}
    assert len(of_type(term, "dev-dependencies")) == 4


ROOT = """
[package]
name = "app"
version = "0.3.0"

[workspace]
members = ["crates/*"]

[workspace.package]
version = "9.9.9"

[workspace.dependencies]
serde = { version = "1.0.200", features = ["derive"] }
anyhow = "1"
fork = { git = "https://github.com/a/fork", branch = "main", package = "real-fork" }

[dependencies]
anyhow.workspace = true
"""


def test_a_non_virtual_root_defines_itself_and_only_its_own_dependencies() -> None:
    result = parse_text(rust, "Cargo.toml", ROOT)
    assert result.packages == [PackageDef("app", "0.3.0", "Cargo.toml")]
    assert [(d.package, d.declared_range) for d in result.dependencies] == [("anyhow", "1")]


def test_workspace_root_is_found_by_walking_up_parent_directories() -> None:
    member = """
[package]
name = "member"
version.workspace = true

[dependencies]
serde = { workspace = true, optional = true }
fork.workspace = true
missing.workspace = true
renamed = { version = "0.2", package = "real_name" }

[dev_dependencies]
tempfile = "3"

[target.x86_64-pc-windows-msvc.build-dependencies]
winres = "0.1"
"""
    result = parse_text(rust, "crates/deep/member/Cargo.toml", member, {"Cargo.toml": ROOT})
    assert result.packages == [PackageDef("member", "9.9.9", "crates/deep/member/Cargo.toml")]
    serde = dep(result, "serde")
    assert (serde.declared_range, serde.hints) == ("1.0.200", {"workspace": True, "optional": True})
    fork = dep(result, "real-fork")
    assert fork.hints == {"workspace": True, "alias": "fork", "git": "https://github.com/a/fork", "branch": "main"}
    assert (dep(result, "missing").declared_range, dep(result, "missing").hints) == ("", {"workspace": True})
    assert dep(result, "real_name").hints == {"alias": "renamed"}
    assert dep(result, "tempfile").dep_type == "dev-dependencies"
    winres = dep(result, "winres")
    assert (winres.dep_type, winres.hints) == ("build-dependencies", {"target": "x86_64-pc-windows-msvc"})


def test_an_explicit_package_workspace_path_names_the_root() -> None:
    member = '[package]\nname = "m"\nworkspace = "../../ws"\nversion.workspace = true\n'
    files = {"ws/Cargo.toml": ROOT, "Cargo.toml": "[workspace]\n[workspace.package]\nversion = '0.0.1'\n"}
    result = parse_text(rust, "a/b/Cargo.toml", member, files)
    assert result.packages == [PackageDef("m", "9.9.9", "a/b/Cargo.toml")]


def test_without_a_reachable_workspace_root_inherited_values_stay_unknown() -> None:
    member = '[package]\nname = "m"\nversion.workspace = true\n[dependencies]\nx.workspace = true\n'
    files = {"Cargo.toml": "this is [not toml", "sub/Cargo.toml": '[package]\nname = "not-a-root"\n'}
    result = parse_text(rust, "sub/m/Cargo.toml", member, files)
    assert result.packages == [PackageDef("m", None, "sub/m/Cargo.toml")]
    assert [(d.package, d.declared_range) for d in result.dependencies] == [("x", "")]


def test_odd_entries_are_skipped_not_fatal() -> None:
    text = '[package]\nname = "m"\n[dependencies]\nweird = 3\nlist = ["a"]\nok = "1"\n[target]\nfoo = "bar"\n'
    assert names(parse_text(rust, "Cargo.toml", text).dependencies) == ["ok"]


@pytest.mark.parametrize(
    "data",
    [b"[package\nname = 'x'", b"[package]\nname = 'x'\nname = 'y'\n", b"\xff\xfe", b"[dependencies]\nx = \n"],
    ids=["unclosed-table", "duplicate-key", "not-utf8", "missing-value"],
)
def test_malformed_cargo_toml_raises_manifest_error(data: bytes) -> None:
    with pytest.raises(ManifestError, match="invalid TOML"):
        rust.parse("Cargo.toml", data, lambda _: None)
