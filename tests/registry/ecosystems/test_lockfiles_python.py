"""Python lockfiles on real projects: poetry.lock (lock-version 2.1), uv.lock, Pipfile.lock.

Numbers are read off the fixtures (tests/fixtures/lockfiles/python, see SOURCES.md); the old-style
poetry lock at the end is hand-written.
"""

from __future__ import annotations

from tests.registry.ecosystems.support import locked, parse_lock_fixture, parse_lock_text, shortest_path, versions

RICH = ("python", "Textualize__rich", "poetry.lock")
ITSDANGEROUS = ("python", "pallets__itsdangerous", "uv.lock")
REQUESTS_HTML = ("python", "psf__requests-html", "Pipfile.lock")


def test_poetry_lock_rows_and_direct_ones_from_pyproject() -> None:
    result = parse_lock_fixture(*RICH)
    assert result.language == "python"
    assert len(result.dependencies) == 49  # 49 [[package]]
    runtime = sorted(d.package for d in result.dependencies if d.direct and not d.dev)
    assert runtime == ["ipywidgets", "markdown-it-py", "pygments", "typing-extensions"]
    assert locked(result, "pytest").version == "7.4.4" and locked(result, "pytest").dev is True


def test_poetry_groups_decide_dev_and_optional_marks_extras() -> None:
    result = parse_lock_fixture(*RICH)
    # typing-extensions is in [tool.poetry.dev-dependencies] but the lock's groups = ["main", "dev"]
    assert locked(result, "typing-extensions").dev is False
    ipython = locked(result, "ipython", "8.12.3")  # optional = true: only the `jupyter` extra pulls it in
    assert (ipython.optional, ipython.depth, ipython.parents) == (True, 2, ("ipywidgets@8.1.7",))
    assert shortest_path(result, "appnope", "0.1.4") == ["ipywidgets@8.1.7", "ipython@8.12.3", "appnope@0.1.4"]


def test_poetry_transitive_runtime_dependency() -> None:
    mdurl = locked(parse_lock_fixture(*RICH), "mdurl")
    assert (mdurl.version, mdurl.depth, mdurl.parents, mdurl.dev) == ("0.1.2", 2, ("markdown-it-py@3.0.0",), False)


def test_uv_lock_project_is_a_root_and_its_groups_are_dev() -> None:
    result = parse_lock_fixture(*ITSDANGEROUS)
    assert len(result.dependencies) == 68  # 69 [[package]], one of which is itsdangerous itself (editable)
    assert not any(d.package == "itsdangerous" for d in result.dependencies)
    assert len([d for d in result.dependencies if d.direct]) == 15
    assert all(d.dev for d in result.dependencies)  # itsdangerous has no runtime dependencies


def test_uv_lock_two_sphinx_versions_under_markers() -> None:
    result = parse_lock_fixture(*ITSDANGEROUS)
    assert versions(result, "sphinx") == ["8.1.3", "8.2.3"]
    assert all(locked(result, "sphinx", v).direct for v in ("8.1.3", "8.2.3"))
    alabaster = locked(result, "alabaster", "1.0.0")
    assert (alabaster.depth, alabaster.parents) == (2, ("sphinx@8.1.3", "sphinx@8.2.3"))
    assert alabaster.hints == {"source": {"registry": "https://pypi.org/simple"}}


def test_pipfile_lock_has_no_graph_so_only_pipfile_entries_have_a_depth() -> None:
    result = parse_lock_fixture(*REQUESTS_HTML)
    assert len(result.dependencies) == 69  # default + develop, less the project itself (`e1839a8`, path ".")
    pyppeteer = locked(result, "pyppeteer")
    assert (pyppeteer.version, pyppeteer.direct, pyppeteer.depth, pyppeteer.dev) == ("1.0.2", True, 1, False)
    assert sorted(d.package for d in result.dependencies if d.direct and d.dev) == [
        "mypy",
        "pytest",
        "pytest-asyncio",
        "requests-file",
        "sphinx",
        "twine",
        "white",
    ]
    appdirs = locked(result, "appdirs")
    assert (appdirs.version, appdirs.direct, appdirs.depth, appdirs.parents) == ("1.4.4", False, 0, ())
    assert locked(result, "alabaster").dev is True  # only in `develop`


# Hand-written: a Poetry < 1.5 lock (category, [metadata.files]) without a pyproject beside it.
OLD_POETRY = """\
[[package]]
name = "Flask"
version = "2.0.3"
category = "main"
optional = false
python-versions = ">=3.6"

[package.dependencies]
Werkzeug = ">=2.0"

[[package]]
name = "werkzeug"
version = "2.0.3"
category = "main"
optional = false
python-versions = ">=3.6"

[[package]]
name = "pytest"
version = "7.0.1"
category = "dev"
optional = false
python-versions = ">=3.6"

[metadata]
lock-version = "1.1"
python-versions = "^3.8"
content-hash = "abc"

[metadata.files]
flask = []
werkzeug = []
pytest = []
"""


def test_old_poetry_category_gives_dev_and_unrequired_packages_stand_in_for_direct() -> None:
    result = parse_lock_text("python", "poetry.lock", OLD_POETRY)
    assert [(d.key, d.direct, d.depth, d.dev) for d in result.dependencies] == [
        ("flask@2.0.3", True, 1, False),
        ("pytest@7.0.1", True, 1, True),
        ("werkzeug@2.0.3", False, 2, False),
    ]
    assert locked(result, "werkzeug").parents == ("flask@2.0.3",)  # names normalised (PEP 503)
