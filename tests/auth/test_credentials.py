"""The Authorization header, parsed without a database."""

from __future__ import annotations

import base64

import pytest

from registry.auth.credentials import PasswordCredential, TokenCredential, parse_authorization
from registry.domain.errors import Unauthorized
from registry.problems import problem_headers, problem_of


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("token wharf_abc", TokenCredential("wharf_abc")),
        ("Bearer wharf_abc", TokenCredential("wharf_abc")),
        ("TOKEN   wharf_abc ", TokenCredential("wharf_abc")),
        ('token-sudo user="alice",token="wharf_abc"', TokenCredential("wharf_abc", sudo_user="alice")),
        ('token-sudo user="alice", token="wharf_abc"', TokenCredential("wharf_abc", sudo_user="alice")),
        ("Basic " + base64.b64encode(b"alice:pa:ss").decode(), PasswordCredential("alice", "pa:ss")),
        ("Basic " + base64.b64encode(b"alice:").decode(), PasswordCredential("alice", "")),
    ],
)
def test_accepted_forms(header: str, expected: object) -> None:
    assert parse_authorization(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        "",
        "token",
        "Bearer",
        "token a b",
        "token-sudo",
        'token-sudo user="a"',
        "Basic",
        "Basic ***",
        "Basic \xff\xfe",
        "Basic " + base64.b64encode(b"\xff:pw").decode(),
        "Negotiate x",
        "token " + "x" * 201,
    ],
)
def test_refused_forms_are_401_with_a_challenge(header: str) -> None:
    with pytest.raises(Unauthorized) as refused:
        parse_authorization(header)
    assert problem_of(refused.value).status == 401
    assert problem_headers(refused.value)["WWW-Authenticate"].startswith("Bearer")


def test_a_password_never_shows_in_a_repr() -> None:
    assert "hunter2" not in repr(PasswordCredential("alice", "hunter2"))
