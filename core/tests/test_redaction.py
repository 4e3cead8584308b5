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


# URL libraries percent-encode a value each their own way (yarl leaves '@', ':' and '!' as
# they are in a query and encodes '=' and '&'; SQLAlchemy encodes '@' and ':' only; some
# write lowercase hex), and a message quoting a value with repr may be written into JSON.
DELIMITED = "P@ss=w:rd!&x y+é\"'\\"


@pytest.mark.parametrize("shown", [
    "P@ss%3Dw:rd!%26x+y%2B%C3%A9%22'%5C",            # as yarl writes it in a query
    "P%40ss=w%3Ard!&x%20y+%c3%a9\"'\\",              # the delimiters only, lowercase hex
    "P%40ss%3Dw%3Ard%21%26x%20y%2B%C3%A9%22%27%5C",  # everything
    json.dumps(f"not str ({DELIMITED!r})")[1:-1],    # a repr, inside JSON
    repr(ValueError(f"not str ({DELIMITED!r})")),    # a repr, inside the repr of its exception
    json.dumps(DELIMITED, ensure_ascii=False)[1:-1],  # JSON keeping non-ASCII as it is
], ids=["yarl", "delimiters", "everything", "repr-in-json", "repr-in-repr", "json-non-ascii"])
def test_a_secret_is_hidden_however_it_was_encoded(shown):
    register_secret(DELIMITED, "${PASSWORD}")
    text = redact(f"GET http://h/x?key={shown}&page=1 failed")
    assert text.startswith("GET http://h/x?key=") and text.endswith("&page=1 failed") and "${PASSWORD}" in text
    assert not any(part in text for part in ("P@ss", "P%40ss", "rd!", "rd%21", "é", "%C3", "%c3"))


def test_text_around_an_encoded_secret_is_left_alone():
    register_secret(DELIMITED, "${PASSWORD}")
    assert redact("a 100% sure + plain line, 50%20 off") == "a 100% sure + plain line, 50%20 off"
    assert redact(f"[{DELIMITED}] and [{DELIMITED}]") == "[${PASSWORD}] and [${PASSWORD}]"
