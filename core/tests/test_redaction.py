"""databay.redaction: registered secrets never come out of redact()."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from databay.redaction import MIN_SECRET_LENGTH, forget_secrets, has_secrets, redact, register_secret


@pytest.fixture(autouse=True)
def _empty_registry():
    forget_secrets()
    yield
    forget_secrets()


def test_nothing_registered_leaves_text_alone():
    assert not has_secrets()
    assert redact("token s3cr3t-value") == "token s3cr3t-value"


@pytest.mark.parametrize(
    "render",
    [
        lambda s: s,
        lambda s: f"http://h/x?api_key={urllib.parse.quote(s, safe='')}",
        lambda s: f"http://h/x?q={urllib.parse.quote_plus(s)}",
        lambda s: f"argument 'timeout' must be float, not str ({s!r})",
        lambda s: json.dumps({"message": s}),
    ],
    ids=["plain", "percent-encoded", "plus-encoded", "repr", "json"],
)
def test_every_form_of_a_secret_is_hidden(render):
    secret = "pa ss/wo'rd\\&x=1"
    register_secret(secret, "${API_KEY}")
    shown = redact(render(secret))
    assert secret not in shown
    assert urllib.parse.quote(secret, safe="") not in shown
    assert "${API_KEY}" in shown


def test_longer_secret_containing_another_is_hidden_whole():
    register_secret("abcdef", "${SHORT}")
    register_secret("abcdefghij", "${LONG}")
    assert redact("x abcdefghij y abcdef") == "x ${LONG} y ${SHORT}"


def test_short_and_non_text_values_are_not_secrets():
    register_secret("x" * (MIN_SECRET_LENGTH - 1))
    register_secret(12345)
    assert not has_secrets()


def test_shown_as_never_carries_the_secret():
    register_secret("hunter2", "hunter2 (from profile)")
    assert "hunter2" not in redact("password hunter2")
