"""Cargo.lock, go.mod, Gemfile.lock, composer.lock and gradle.lockfile on real projects.

Numbers are read off the fixtures (tests/fixtures/lockfiles, see SOURCES.md). The Cargo v1/v2
locks and the go 1.16 module are hand-written, for formats the corpus lacks.
"""

from __future__ import annotations

from tests.registry.ecosystems.support import locked, parse_lock_fixture, parse_lock_text, shortest_path, versions

RIPGREP = ("rust", "BurntSushi__ripgrep", "Cargo.lock")  # version = 4, a workspace of 11 crates
FD = ("rust", "sharkdp__fd", "Cargo.lock")  # version = 3
FZF = ("go", "junegunn__fzf", "go.mod")
GLOW = ("go", "charmbracelet__glow", "go.mod")
LOBSTERS = ("ruby", "lobsters__lobsters", "Gemfile.lock")
COMPOSER = ("php", "composer__composer", "composer.lock")
GRAV = ("php", "getgrav__grav", "composer.lock")
MAYBE = ("java", "JoseLion__maybe", "gradle.lockfile")
MERCURY = ("java", "FabricMC__Mercury", "gradle.lockfile")


# --- Cargo.lock ------------------------------------------------------------------------------------


def test_cargo_v4_workspace_members_are_roots_not_rows() -> None:
    result = parse_lock_fixture(*RIPGREP)
    assert result.language == "rust"
    assert len(result.dependencies) == 52  # 63 [[package]] less the 11 without a source
    assert not {"ripgrep", "grep", "grep-cli", "ignore", "globset"} & {d.package for d in result.dependencies}
    memchr = locked(result, "memchr", "2.8.3")
    assert memchr.direct and memchr.hints["importers"] == ["grep-matcher", "grep-searcher", "ignore"]


def test_cargo_v4_dev_only_from_the_members_manifests() -> None:
    result = parse_lock_fixture(*RIPGREP)
    # crates/ignore declares crossbeam-channel under [dev-dependencies] only
    assert sorted(d.package for d in result.dependencies if d.direct and d.dev) == [
        "crossbeam-channel",
        "glob",
        "regex",
    ]
    assert locked(result, "walkdir").dev is False  # a dev-dependency of ripgrep, but a dependency of ignore


def test_cargo_v4_two_syn_versions_with_their_parents() -> None:
    result = parse_lock_fixture(*RIPGREP)
    assert versions(result, "syn") == ["2.0.119", "3.0.3"]  # referenced as "syn 2.0.119" / "syn 3.0.3"
    assert locked(result, "syn", "3.0.3").parents == ("serde_derive@1.0.229",)
    assert locked(result, "syn", "2.0.119").parents == ("derive_arbitrary@1.4.2",)
    assert shortest_path(result, "syn", "2.0.119")[-2:] == ["derive_arbitrary@1.4.2", "syn@2.0.119"]


def test_cargo_v3_single_crate() -> None:
    result = parse_lock_fixture(*FD)
    assert len(result.dependencies) == 110  # 111 [[package]] less fd-find itself
    assert versions(result, "windows-sys") == ["0.52.0", "0.59.0", "0.60.2", "0.61.2"]
    assert locked(result, "clap").version == "4.5.50" and locked(result, "clap").direct
    assert sorted(d.package for d in result.dependencies if d.direct and d.dev) == [
        "diff",
        "filetime",
        "tempfile",
        "test-case",
    ]
    assert locked(result, "bitflags", "1.3.2").parents == ("faccess@0.2.4",)


# Hand-written: Cargo.lock v1 (long references, checksums in [metadata]).
CARGO_V1 = """\
[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "log 0.4.14 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "cfg-if"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "log"
version = "0.4.14"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "cfg-if 1.0.0 (registry+https://github.com/rust-lang/crates.io-index)",
]

[metadata]
"checksum cfg-if 1.0.0 (registry+https://github.com/rust-lang/crates.io-index)" = "baf1de"
"checksum log 0.4.14 (registry+https://github.com/rust-lang/crates.io-index)" = "51b9bb"
"""

# Hand-written: Cargo.lock v2 (no version marker, short references, inline checksums, two `rand`s).
CARGO_V2 = """\
[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "rand 0.8.5",
 "uuid",
]

[[package]]
name = "rand"
version = "0.7.3"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aaa"

[[package]]
name = "rand"
version = "0.8.5"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bbb"

[[package]]
name = "uuid"
version = "0.8.2"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "ccc"
dependencies = [
 "rand 0.7.3",
]
"""


def test_cargo_v1_long_references_and_metadata_checksums() -> None:
    result = parse_lock_text("rust", "Cargo.lock", CARGO_V1, {"Cargo.toml": '[package]\nname = "app"\n'})
    assert [(d.key, d.depth, d.parents) for d in result.dependencies] == [
        ("cfg-if@1.0.0", 2, ("log@0.4.14",)),
        ("log@0.4.14", 1, ()),
    ]
    assert locked(result, "log").hints["checksum"] == "51b9bb"


def test_cargo_v2_short_references_pick_the_named_version() -> None:
    result = parse_lock_text("rust", "Cargo.lock", CARGO_V2)
    assert [(d.key, d.direct, d.depth, d.parents) for d in result.dependencies] == [
        ("rand@0.7.3", False, 2, ("uuid@0.8.2",)),
        ("rand@0.8.5", True, 1, ()),
        ("uuid@0.8.2", True, 1, ()),
    ]


# --- go.mod ----------------------------------------------------------------------------------------


def test_go_mod_require_list_is_the_build_list() -> None:
    result = parse_lock_fixture(*FZF)
    assert result.language == "go"
    assert len(result.dependencies) == 11
    assert len([d for d in result.dependencies if d.direct]) == 7
    shellwords = locked(result, "github.com/junegunn/go-shellwords")
    assert (shellwords.version, shellwords.depth) == ("v0.0.0-20250127100254-2aa3b3277741", 1)
    text = locked(result, "golang.org/x/text")  # // indirect: transitive, at an unknown depth
    assert (text.version, text.direct, text.depth, text.parents) == ("v0.28.0", False, 0, ())
    assert locked(result, "github.com/charlievieth/fastwalk").hints["sum"] == (
        "h1:3Eh5uaFGwHZd8EGwTjJnSpBkfwfsak9h6ICgnWlhAyg="
    )


def test_go_mod_pseudo_versions_as_written() -> None:
    result = parse_lock_fixture(*GLOW)
    assert len(result.dependencies) == 64
    profile = locked(result, "github.com/charmbracelet/colorprofile")
    assert (profile.version, profile.direct) == ("v0.2.3-0.20250311203215-f60798e515dc", False)
    assert locked(result, "github.com/charmbracelet/glamour").version == "v0.10.0"
    assert "complete_build_list" not in profile.hints  # go 1.25.9


def test_go_before_1_17_says_its_list_may_be_incomplete() -> None:
    # Hand-written: a go 1.16 module with a replaced and an +incompatible requirement.
    result = parse_lock_text(
        "go",
        "go.mod",
        "module example.com/m\n\ngo 1.16\n\nrequire (\n\tgithub.com/docker/docker v20.10.7+incompatible\n"
        "\tgolang.org/x/net v0.1.0\n)\n\nreplace golang.org/x/net => golang.org/x/net v0.2.0\n",
    )
    docker = locked(result, "github.com/docker/docker")
    assert (docker.version, docker.hints) == ("v20.10.7+incompatible", {"complete_build_list": False})
    assert locked(result, "golang.org/x/net").hints["replace_version"] == "v0.2.0"


# --- Gemfile.lock ----------------------------------------------------------------------------------


def test_gemfile_lock_specs_graph_and_platform_variants() -> None:
    result = parse_lock_fixture(*LOBSTERS)
    assert result.language == "ruby"
    assert len(result.dependencies) == 180  # 183 specs, three gems locked for two platforms
    nokogiri = locked(result, "nokogiri")
    assert (nokogiri.version, nokogiri.direct) == ("1.19.4", True)
    assert nokogiri.hints["platforms"] == ["arm64-darwin", "x86_64-linux-gnu"]
    racc = locked(result, "racc")
    assert (racc.version, racc.depth) == ("1.8.1", 2)
    assert racc.parents == ("brakeman@8.0.5", "nokogiri@1.19.4", "parser@3.3.9.0")


def test_gemfile_groups_decide_dev() -> None:
    result = parse_lock_fixture(*LOBSTERS)
    assert locked(result, "rspec-rails").dev is True  # group :test, :development
    assert locked(result, "rails").dev is False
    assert locked(result, "actionpack").depth == 2 and locked(result, "actionpack").dev is False


# --- composer.lock ---------------------------------------------------------------------------------


def test_composer_lock_packages_and_packages_dev() -> None:
    result = parse_lock_fixture(*COMPOSER)
    assert result.language == "php"
    assert len(result.dependencies) == 36  # 30 packages + 6 packages-dev
    assert len([d for d in result.dependencies if d.dev]) == 6
    console = locked(result, "symfony/console")
    assert (console.version, console.direct, console.dev) == ("v5.4.47", True, False)
    mbstring = locked(result, "symfony/polyfill-mbstring")
    assert (mbstring.version, mbstring.depth) == ("v1.38.2", 2)
    assert "symfony/console@v5.4.47" in mbstring.parents


def test_composer_lock_dev_transitive() -> None:
    result = parse_lock_fixture(*GRAV)
    assert len(result.dependencies) == 111  # 63 packages + 48 packages-dev
    phpunit = locked(result, "phpunit/phpunit")
    assert (phpunit.version, phpunit.dev, phpunit.depth) == ("11.5.55", True, 2)
    assert "codeception/codeception@5.3.5" in phpunit.parents


# --- gradle.lockfile -------------------------------------------------------------------------------


def test_gradle_lockfile_has_no_graph_and_configurations_say_test_or_runtime() -> None:
    result = parse_lock_fixture(*MERCURY)
    assert result.language == "java"
    assert len(result.dependencies) == 28
    at = locked(result, "org.cadixdev:at")  # api("org.cadixdev:at:0.1.0-rc1") in build.gradle.kts
    assert (at.version, at.direct, at.depth, at.dev) == ("0.1.0-rc1", True, 1, False)
    bombe = locked(result, "org.cadixdev:bombe")  # on the classpaths, not in the build file: unknown
    assert (bombe.direct, bombe.depth, bombe.parents, bombe.dev) == (False, 0, (), False)
    apiguardian = locked(result, "org.apiguardian:apiguardian-api")
    assert apiguardian.dev is True and apiguardian.hints == {
        "configurations": ["testCompileClasspath", "testRuntimeClasspath"]
    }


def test_gradle_lockfile_two_versions_in_tool_configurations() -> None:
    result = parse_lock_fixture(*MAYBE)
    assert len(result.dependencies) == 99
    assert versions(result, "org.ow2.asm:asm") == ["9.0", "9.7"]
    assert locked(result, "org.ow2.asm:asm", "9.7").hints["configurations"] == ["jacocoAnt"]
    assert all(d.depth == 0 for d in result.dependencies)  # build.gradle uses a version catalogue


def test_buildscript_lockfile_is_build_tooling() -> None:
    result = parse_lock_fixture("java", "JoseLion__maybe", "buildscript-gradle.lockfile")
    assert len(result.dependencies) == 11
    assert all(d.dev and d.hints["configurations"] == ["classpath"] for d in result.dependencies)


# Hand-written: a gem's own Gemfile.lock — its gemspec under PATH, a GIT source, a test group.
GEMSPEC_LOCK = """\
PATH
  remote: .
  specs:
    mygem (0.1.0)
      rack (>= 2)

GIT
  remote: https://github.com/rails/rails.git
  revision: abc123
  specs:
    activesupport (7.2.0.alpha)
      concurrent-ruby (~> 1.0)

GEM
  remote: https://rubygems.org/
  specs:
    concurrent-ruby (1.2.2)
    rack (3.0.8)
    rspec (3.12.0)

DEPENDENCIES
  activesupport!
  mygem!
  rspec (~> 3.0)

BUNDLED WITH
   2.4.10
"""
GEMFILE = 'gemspec\ngem "activesupport", github: "rails/rails"\ngroup :test do\n  gem "rspec"\nend\n'


def test_gemspec_under_path_is_a_root_and_git_gems_are_rows() -> None:
    result = parse_lock_text("ruby", "Gemfile.lock", GEMSPEC_LOCK, {"Gemfile": GEMFILE})
    assert [(d.key, d.depth, d.dev) for d in result.dependencies] == [
        ("activesupport@7.2.0.alpha", 1, False),
        ("concurrent-ruby@1.2.2", 2, False),
        ("rack@3.0.8", 1, False),  # the gemspec's runtime dependency
        ("rspec@3.12.0", 1, True),
    ]
    assert locked(result, "activesupport").hints["revision"] == "abc123"
    assert locked(result, "rack").hints["importers"] == ["mygem"]
