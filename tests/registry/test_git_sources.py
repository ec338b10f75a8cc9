"""The source policy on its own: what a queued source may be, how it is stored, what is redacted."""

from __future__ import annotations

import pytest

from registry.git_sources import SourcePolicy, SourceRefused, check_revision, redact, secrets_of

POLICY = SourcePolicy(schemes=("https", "ssh", "git"), hosts=("github.com", "*.corp.example"))


@pytest.mark.parametrize(
    ("raw", "url", "credentials"),
    [
        ("https://github.com/acme/tool.git", "https://github.com/acme/tool.git", None),
        ("HTTPS://GitHub.COM/acme/Tool", "https://github.com/acme/Tool", None),
        ("https://github.com./acme/tool", "https://github.com/acme/tool", None),
        ("https://bot:p%40ss@github.com/acme/tool", "https://github.com/acme/tool", "bot:p%40ss"),
        ("https://ghp_token@github.com/acme/tool", "https://github.com/acme/tool", "ghp_token:"),
        ("ssh://git@github.com:2222/acme/tool.git", "ssh://git@github.com:2222/acme/tool.git", None),
        ("git://git.corp.example/tool.git", "git://git.corp.example/tool.git", None),
    ],
)
def test_an_allowed_source_is_normalised_and_its_credentials_split_off(
    raw: str, url: str, credentials: str | None
) -> None:
    checked = POLICY.check(raw)
    assert (checked.url, checked.credentials, checked.shown) == (url, credentials, url)
    assert "p%40ss" not in repr(checked) and "ghp_token" not in repr(checked)


@pytest.mark.parametrize(
    "raw",
    [
        "https://corp.example/tool",  # *.corp.example names subdomains only
        "https://github.com@evil.example/acme/tool",  # the host is evil.example
        "https://evil.example#@github.com/acme/tool",
        "https://github.com\\@evil.example/acme/tool",
        "http://github.com/acme/tool",
        "/srv/git/tool",
        "relative/path",
        "file:///srv/git/tool",
    ],
)
def test_a_source_off_the_list_is_refused(raw: str) -> None:
    with pytest.raises(SourceRefused):
        POLICY.check(raw)


def test_local_sources_need_the_operators_consent_and_an_absolute_path() -> None:
    local = SourcePolicy(allow_local=True)
    assert local.check("/srv/git/tool").path == "/srv/git/tool"
    assert local.check("file:///srv/git/tool").url == "file:///srv/git/tool"
    with pytest.raises(SourceRefused, match="absolute path"):
        local.check("srv/git/tool")
    with pytest.raises(SourceRefused, match="without host"):
        local.check("file://host/srv/git/tool")


def test_a_star_allows_any_host_when_an_operator_asks_for_it() -> None:
    assert SourcePolicy(hosts=("*",)).check("https://anything.example/x").host == "anything.example"


@pytest.mark.parametrize("revision", ["main", "v1.2.3", "refs/heads/feature/x", "a" * 40, "main~2"])
def test_ordinary_revisions_pass(revision: str) -> None:
    assert check_revision(revision) == revision


@pytest.mark.parametrize("revision", ["-x", "--upload-pack=evil", "a b", "a\tb", "", "x" * 257])
def test_revisions_that_look_like_options_or_hold_whitespace_are_refused(revision: str) -> None:
    with pytest.raises(SourceRefused):
        check_revision(revision)


def test_redaction_removes_user_information_and_every_form_of_a_secret() -> None:
    secrets = secrets_of("bot:p%40ss-w0rd")
    text = "fatal: https://bot:p%40ss-w0rd@github.com/x failed; token p@ss-w0rd; ssh://git@host/y"
    shown = redact(text, secrets)
    assert "p%40ss-w0rd" not in shown and "p@ss-w0rd" not in shown
    assert "https://***@github.com/x" in shown and "ssh://***@host/y" in shown
    assert redact("no secrets here", secrets_of(None)) == "no secrets here"
    assert secrets_of("ghp_token:") == ("ghp_token:", "ghp_token"), "a token given as the user name is a secret"
