"""Go: go.mod directives, blocks, `// indirect`, replace and exclude."""

from __future__ import annotations

import pytest

from registry.ecosystems import go
from registry.ecosystems.base import ManifestError, PackageDef
from tests.registry.ecosystems.support import assert_defines, dep, names, of_type, parse_corpus, parse_text

ETCD = ("go", "etcd-io__etcd", "go.mod")
GIN = ("go", "gin-gonic__gin", "go.mod")


def test_etcd_has_22_direct_and_62_indirect_requirements() -> None:
    result = parse_corpus(go, *ETCD)
    assert_defines(result, "go", [PackageDef("go.etcd.io/etcd/v3", None, "go.mod")])
    assert len(of_type(result, "require")) == 22
    assert len(of_type(result, "indirect")) == 62
    assert len(result.dependencies) == 84


def test_etcd_versions_are_stored_verbatim() -> None:
    result = parse_corpus(go, *ETCD)
    assert dep(result, "go.uber.org/zap").declared_range == "v1.28.0"
    spew = dep(result, "github.com/davecgh/go-spew", "indirect")
    assert spew.declared_range == "v1.1.2-0.20180830191138-d8f796af33cc"


def test_etcd_local_replacements_are_attached_to_the_replaced_requirement() -> None:
    result = parse_corpus(go, *ETCD)
    api = dep(result, "go.etcd.io/etcd/api/v3", "require")
    assert (api.declared_range, api.hints) == ("v3.8.0-alpha.0", {"replace": "./api"})
    assert dep(result, "go.etcd.io/etcd/client/v3").hints == {"replace": "./client/v3"}
    # The replace block also names cache/v3, which is not required: it creates no dependency.
    assert "go.etcd.io/etcd/cache/v3" not in names(result.dependencies)
    assert dep(result, "go.uber.org/zap").hints == {}


def test_gin_single_line_indirect_require_and_two_blocks() -> None:
    result = parse_corpus(go, *GIN)
    assert result.packages == [PackageDef("github.com/gin-gonic/gin", None, "go.mod")]
    assert (len(of_type(result, "require")), len(of_type(result, "indirect"))) == (15, 20)
    yaml = dep(result, "gopkg.in/yaml.v3")
    assert (yaml.declared_range, yaml.dep_type) == ("v3.0.1", "indirect")


GO_MOD = """
// Deprecated: use example.com/new instead.
module "example.com/old" // trailing comment

go 1.22
toolchain go1.22.3
godebug default=go1.21

require example.com/a v1.0.0
require (
    "example.com/quoted" v0.1.0
    example.com/b v2.0.0+incompatible // indirect; needed by tests
    example.com/c v1.5.0 // not indirect at all
    example.com/d v0.0.0-20240101000000-abcdefabcdef //indirect
)
require ()

replace example.com/a v1.0.0 => example.com/fork v1.0.1
replace example.com/a => ../a
replace (
    example.com/b v9.9.9 => ./never
    example.com/c => example.com/c-fork v1.6.0
)

exclude example.com/c v1.4.0
exclude (
    example.com/c v1.4.1
)

retract [v1.0.0, v1.1.0] // broken
retract (
    v0.9.0
)
tool example.com/cmd/tool
"""


def test_odd_but_valid_go_mod() -> None:
    result = parse_text(go, "sub/go.mod", GO_MOD)
    assert result.packages == [PackageDef("example.com/old", None, "sub/go.mod")]
    got = {(d.package, d.declared_range, d.dep_type) for d in result.dependencies}
    assert got == {
        ("example.com/a", "v1.0.0", "require"),
        ("example.com/quoted", "v0.1.0", "require"),
        ("example.com/b", "v2.0.0+incompatible", "indirect"),
        ("example.com/c", "v1.5.0", "require"),
        ("example.com/d", "v0.0.0-20240101000000-abcdefabcdef", "indirect"),
    }


def test_version_specific_replace_wins_and_applies_only_to_that_version() -> None:
    result = parse_text(go, "go.mod", GO_MOD)
    assert dep(result, "example.com/a").hints == {"replace": "example.com/fork", "replace_version": "v1.0.1"}
    assert dep(result, "example.com/b").hints == {}  # its replace names another version


def test_excluded_versions_are_listed_in_hints_not_as_dependencies() -> None:
    result = parse_text(go, "go.mod", GO_MOD)
    c = dep(result, "example.com/c")
    assert c.hints == {"replace": "example.com/c-fork", "replace_version": "v1.6.0", "exclude": ["v1.4.0", "v1.4.1"]}


def test_a_go_mod_without_module_defines_no_package() -> None:
    result = parse_text(go, "go.mod", "go 1.21\nrequire x.org/y v1.0.0\n")
    assert result.packages == []
    assert names(result.dependencies) == ["x.org/y"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("module x\nrequire (\n  a.org/b v1.0.0\n", "never closed"),
        ("module x\n)\n", "unexpected"),
        ("require a.org/b\n", "require takes 2"),
        ("require (\n  a.org/b v1 extra\n)\n", "require takes 2"),
        ("module a b\n", "module takes 1"),
        ("exclude a.org/b\n", "exclude takes 2"),
        ("replace a.org/b v1.0.0 ./x\n", "replace without =>"),
        ("replace a b c => d\n", "replace must be"),
        ('module "unterminated\n', "cannot read"),
        ('module "bad\\q"\n', "bad quoted string"),
        ("require a.org/b (v1)\n", "parenthesis"),
    ],
    ids=[
        "unclosed-block",
        "stray-paren",
        "require-arity",
        "require-arity-in-block",
        "module-arity",
        "exclude-arity",
        "replace-arrow",
        "replace-arity",
        "unterminated-string",
        "bad-escape",
        "paren-in-args",
    ],
)
def test_malformed_go_mod_raises_manifest_error(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        parse_text(go, "go.mod", text)
