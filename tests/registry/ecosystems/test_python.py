"""Python: pyproject (PEP 621 / 735 / Poetry), setup.cfg, Pipfile and requirements files."""

from __future__ import annotations

import pytest

from registry.ecosystems import python
from registry.ecosystems.base import ManifestError, PackageDef
from tests.registry.ecosystems.support import dep, names, of_type, parse_corpus, parse_text

BLACK = ("python", "psf__black", "pyproject.toml")
CELERY = ("python", "celery__celery")


# --- pyproject.toml: PEP 621 and PEP 735 (black) ------------------------------------------------


def test_black_defines_itself_with_a_dynamic_version() -> None:
    assert parse_corpus(python, *BLACK).packages == [PackageDef("black", None, "pyproject.toml")]


def test_black_runtime_dependencies_keep_ranges_and_put_markers_in_hints() -> None:
    result = parse_corpus(python, *BLACK)
    runtime = of_type(result, "dependencies")
    assert len(runtime) == 8
    assert dep(result, "pytokens").declared_range == "~=0.4.0"
    tomli = dep(result, "tomli")
    assert (tomli.declared_range, tomli.hints) == (">=1.1.0", {"marker": 'python_version < "3.11"'})


def test_black_optional_dependencies_are_typed_by_extra() -> None:
    result = parse_corpus(python, *BLACK)
    uvloop = of_type(result, "optional:uvloop")
    assert [(d.package, d.declared_range, d.hints["marker"]) for d in uvloop] == [
        ("uvloop", ">=0.15.2", 'sys_platform != "win32"'),
        ("winloop", ">=0.5.0", 'sys_platform == "win32"'),
    ]
    assert names(of_type(result, "optional:jupyter")) == ["ipython", "tokenize-rt"]


def test_black_include_group_entries_are_expanded_recursively() -> None:
    result = parse_corpus(python, *BLACK)
    dev = of_type(result, "group:dev")
    assert sorted(names(dev)) == ["coverage", "pre-commit", "pytest", "pytest-cov", "pytest-xdist", "tox"]
    assert dep(result, "coverage", "group:dev").hints == {"include_group": "coverage"}
    assert dep(result, "pre-commit", "group:dev").hints == {}
    assert names(of_type(result, "group:fuzz")) == ["coverage", "hypothesis", "hypothesmith"]


def test_black_direct_reference_has_no_range_and_keeps_its_url() -> None:
    diff_shades = dep(parse_corpus(python, *BLACK), "diff-shades")
    assert diff_shades.declared_range == ""
    assert diff_shades.hints == {"url": "https://github.com/ichard26/diff-shades/archive/stable.zip"}


def test_include_group_cycles_and_unknown_groups_stop_expanding() -> None:
    text = """
[dependency-groups]
a = ["one", {include-group = "B"}]
b = ["two", {include-group = "a"}, {include-group = "missing"}]
"""
    result = parse_text(python, "pyproject.toml", text)
    assert sorted(names(of_type(result, "group:a"))) == ["one", "two"]
    assert sorted(names(of_type(result, "group:b"))) == ["one", "two"]


def test_pep508_details_names_extras_and_written_specifier_order() -> None:
    text = """
[project]
name = "My_Package"
version = "1.2.3"
dependencies = ["Django[Argon2,bcrypt] >=4.2, <5 ; python_version >= '3.10'", "requests (>=2.0)", "not a valid req!!"]
"""
    result = parse_text(python, "pyproject.toml", text)
    assert result.packages == [PackageDef("my-package", "1.2.3", "pyproject.toml")]
    django = dep(result, "django")
    assert django.declared_range == ">=4.2, <5"
    assert django.hints == {"extras": ["Argon2", "bcrypt"], "marker": 'python_version >= "3.10"'}
    assert dep(result, "requests").declared_range == ">=2.0"
    assert names(result.dependencies) == ["django", "requests"]


# --- pyproject.toml: Poetry ---------------------------------------------------------------------


POETRY = """
[tool.poetry]
name = "Poetry.App"
version = "0.1.0"

[tool.poetry.dependencies]
python = "^3.11"
Requests = "^2.31"
flask = { version = ">=2,<3", extras = ["async"], optional = true }
mylib = { git = "https://github.com/a/mylib.git", branch = "main" }
local = { path = "../local", develop = true }
numpy = [
    { version = "<1.25", python = "<3.9" },
    { version = "^1.26", python = ">=3.9", markers = "sys_platform != 'win32'" },
]

[tool.poetry.dev-dependencies]
pytest = "^7.0"

[tool.poetry.group.docs.dependencies]
sphinx = "*"
"""


def test_poetry_main_dependencies_skip_python_and_keep_poetry_ranges() -> None:
    result = parse_text(python, "pyproject.toml", POETRY)
    assert result.packages == [PackageDef("poetry-app", "0.1.0", "pyproject.toml")]
    main = of_type(result, "dependencies")
    assert names(main) == ["requests", "flask", "mylib", "local", "numpy", "numpy"]
    assert dep(result, "requests").declared_range == "^2.31"
    flask = dep(result, "flask")
    assert (flask.declared_range, flask.hints) == (">=2,<3", {"extras": ["async"], "optional": True})
    assert dep(result, "mylib").hints == {"git": "https://github.com/a/mylib.git", "branch": "main"}
    assert dep(result, "local").hints == {"develop": True, "local_path": "../local"}
    assert [d.declared_range for d in main if d.package == "numpy"] == ["<1.25", "^1.26"]


def test_poetry_groups_and_legacy_dev_dependencies() -> None:
    result = parse_text(python, "pyproject.toml", POETRY)
    assert [(d.package, d.declared_range) for d in of_type(result, "group:dev")] == [("pytest", "^7.0")]
    assert [(d.package, d.declared_range) for d in of_type(result, "group:docs")] == [("sphinx", "*")]


def test_pep621_metadata_wins_over_poetry_metadata() -> None:
    text = '[project]\nname = "real"\ndynamic = ["version"]\n[tool.poetry]\nname = "other"\nversion = "9"\n'
    assert parse_text(python, "pyproject.toml", text).packages == [PackageDef("real", None, "pyproject.toml")]


def test_pyproject_without_project_metadata_defines_nothing() -> None:
    result = parse_text(python, "pyproject.toml", "[tool.black]\nline-length = 88\n")
    assert (result.packages, result.dependencies) == ([], [])


# --- setup.cfg and Pipfile ----------------------------------------------------------------------


SETUP_CFG = """
[metadata]
name = Setup_Tools-Thing
version = attr: thing.__version__

[options]
install_requires =
    requests>=2.0,<3
    # a comment
    importlib-metadata; python_version < "3.8"
    100%-not-a-requirement

[options.extras_require]
Socks = PySocks>=1.5.6, !=1.5.7
yaml = pyyaml>=5; sys_platform == "linux"
"""


def test_setup_cfg_install_requires_and_extras() -> None:
    result = parse_text(python, "setup.cfg", SETUP_CFG)
    assert result.packages == [PackageDef("setup-tools-thing", None, "setup.cfg")]
    assert [(d.package, d.declared_range) for d in of_type(result, "dependencies")] == [
        ("requests", ">=2.0,<3"),
        ("importlib-metadata", ""),
    ]
    assert dep(result, "pysocks", "optional:Socks").declared_range == ">=1.5.6, !=1.5.7"


def test_setup_cfg_single_line_lists_split_on_semicolons_like_setuptools() -> None:
    # `yaml = pyyaml>=5; sys_platform == "linux"` is one line, so setuptools splits it at `;`:
    # the marker becomes a (skipped) entry of its own rather than a marker.
    yaml = of_type(parse_text(python, "setup.cfg", SETUP_CFG), "optional:yaml")
    assert [(d.package, d.declared_range, d.hints) for d in yaml] == [("pyyaml", ">=5", {})]


def test_setup_cfg_static_version_and_file_directive() -> None:
    text = "[metadata]\nname = x\nversion = 1.0\n[options]\ninstall_requires = file: requirements.in\n"
    result = parse_text(python, "setup.cfg", text)
    assert result.packages == [PackageDef("x", "1.0", "setup.cfg")]
    assert result.dependencies == []
    dashed = parse_text(python, "setup.cfg", "[options]\ninstall-requires =\n  six\n")
    assert names(dashed.dependencies) == ["six"]


def test_pipfile_packages_dev_packages_and_categories() -> None:
    text = """
[[source]]
url = "https://pypi.org/simple"
name = "pypi"

[packages]
Requests = "*"
django = { version = ">=4.2", extras = ["bcrypt"] }
mylib = { git = "https://github.com/a/mylib.git", ref = "v1", editable = true }

[dev-packages]
pytest = "==8.0"

[docs]
sphinx = "~=7.0"

[requires]
python_version = "3.12"
"""
    result = parse_text(python, "Pipfile", text)
    assert [(d.package, d.declared_range) for d in of_type(result, "dependencies")] == [
        ("requests", "*"),
        ("django", ">=4.2"),
        ("mylib", ""),
    ]
    assert dep(result, "mylib").hints == {"git": "https://github.com/a/mylib.git", "ref": "v1", "editable": True}
    assert [(d.package, d.declared_range) for d in of_type(result, "develop")] == [("pytest", "==8.0")]
    assert [(d.package, d.declared_range) for d in of_type(result, "group:docs")] == [("sphinx", "~=7.0")]


# --- requirements files (celery) ----------------------------------------------------------------


def test_celery_default_requirements_keep_ranges_as_written() -> None:
    result = parse_corpus(python, *CELERY, "requirements/default.txt")
    assert len(result.dependencies) == 10
    assert dep(result, "billiard").declared_range == ">=4.2.1,<5.0"
    assert dep(result, "tzlocal").declared_range == ""
    assert dep(result, "exceptiongroup").hints == {"marker": 'python_version < "3.11"'}
    assert {d.path for d in result.dependencies} == {"requirements/default.txt"}


def test_celery_includes_are_not_re_emitted_by_the_including_file() -> None:
    # test.txt `-r`-includes seven requirements/extras/*.txt files; each is a manifest of its own.
    result = parse_corpus(python, *CELERY, "requirements/test.txt")
    assert len(result.dependencies) == 11
    assert "kombu" not in names(result.dependencies)
    assert {d.path for d in result.dependencies} == {"requirements/test.txt"}
    celery_plugin = dep(result, "pytest-celery")
    assert (celery_plugin.declared_range, celery_plugin.hints) == (">=1.3.0", {"extras": ["all"]})
    assert dep(result, "mypy").hints == {"marker": 'platform_python_implementation == "CPython"'}


def test_celery_included_extras_files_are_manifests_with_extras_in_hints() -> None:
    assert python.matches("requirements/extras/yaml.txt")
    result = parse_corpus(python, *CELERY, "requirements/extras/yaml.txt")
    assert [(d.package, d.declared_range, d.hints) for d in result.dependencies] == [
        ("kombu", "", {"extras": ["yaml"]})
    ]
    pydantic = parse_corpus(python, *CELERY, "requirements/extras/pydantic.txt").dependencies
    assert [d.declared_range for d in pydantic] == [">=2.4", ">=2.12.0a1"]


def test_celery_bare_git_lines_without_egg_are_skipped() -> None:
    result = parse_corpus(python, *CELERY, "requirements/dev.txt")
    assert [(d.package, d.declared_range) for d in result.dependencies] == [("vine", ">=5.0.0"), ("isort", "==7.0.0")]


REQUIREMENTS = r"""
# comment line
--index-url https://example.org/simple
-c constraints.txt
--requirement=base.txt
Flask>=2.0,<3  # trailing comment
requests[security,socks] == 2.31.0 ; python_version >= "3.8" \
    --hash=sha256:abc \
    --hash=sha256:def
-e git+https://github.com/a/editable.git@main#egg=Editable_Pkg
--editable ./local/dir
git+https://github.com/b/bare.git#egg=bare-pkg&subdirectory=src
https://example.org/pkg-1.0.tar.gz
wheel @ https://example.org/wheel-1.0-py3-none-any.whl ; sys_platform == "linux"
this is ! not valid
numpy>=1.20,<2\
.0
"""


def test_requirements_lines_of_every_kind() -> None:
    result = parse_text(python, "requirements.txt", REQUIREMENTS, {"base.txt": "base-dep==1\n"})
    assert [(d.package, d.declared_range) for d in result.dependencies] == [
        ("base-dep", "==1"),  # base.txt is not a manifest of its own, so the include is followed
        ("flask", ">=2.0,<3"),
        ("requests", "== 2.31.0"),
        ("editable-pkg", ""),
        ("bare-pkg", ""),
        ("wheel", ""),
        ("numpy", ">=1.20,<2.0"),
    ]
    assert dep(result, "base-dep").path == "base.txt"
    assert dep(result, "requests").hints == {"extras": ["security", "socks"], "marker": 'python_version >= "3.8"'}
    assert dep(result, "editable-pkg").hints == {
        "url": "git+https://github.com/a/editable.git@main#egg=Editable_Pkg",
        "editable": True,
    }
    assert dep(result, "bare-pkg").hints == {"url": "git+https://github.com/b/bare.git#egg=bare-pkg&subdirectory=src"}
    assert dep(result, "wheel").hints == {
        "url": "https://example.org/wheel-1.0-py3-none-any.whl",
        "marker": 'sys_platform == "linux"',
    }


def test_includes_that_are_not_manifests_themselves_are_followed_under_their_own_path() -> None:
    files = {
        "reqs/base.in": "-r common/shared.pip\nattrs>=22\n",
        "reqs/common/shared.pip": "six\n-r ../base.in\n",  # a cycle back to base.in
        "reqs/requirements-dev.txt": "should-not-appear\n",
    }
    text = "-r base.in\n-r requirements-dev.txt\n-r missing.txt\n-r ../../outside.txt\npytest\n"
    result = parse_text(python, "reqs/requirements.txt", text, files)
    assert [(d.package, d.path) for d in result.dependencies] == [
        ("six", "reqs/common/shared.pip"),
        ("attrs", "reqs/base.in"),
        ("pytest", "reqs/requirements.txt"),
    ]


# --- errors and file selection ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("pyproject.toml", b"[project\nname = 'x'", "invalid TOML"),
        ("pyproject.toml", b"a = 1\na = 2\n", "invalid TOML"),
        ("Pipfile", b"[packages]\nrequests = \n", "invalid TOML"),
        ("setup.cfg", b"install_requires = x\n", "invalid setup.cfg"),
        ("setup.cfg", b"[options]\na = 1\n[options]\nb = 2\n", "invalid setup.cfg"),
        ("requirements.txt", b"requests\xff\xfe\n", "not valid UTF-8"),
        ("pyproject.toml", b"\xff", "not valid UTF-8"),
    ],
    ids=[
        "toml-syntax",
        "toml-duplicate-key",
        "pipfile",
        "cfg-no-section",
        "cfg-duplicate-section",
        "req-bytes",
        "bytes",
    ],
)
def test_malformed_files_raise_manifest_error(path: str, data: bytes, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        python.parse(path, data, lambda _: None)
