"""A secret is hidden in every form it takes on its way into a message, not only the usual ones.

URL libraries percent-encode a value each their own way (yarl leaves ``@``, ``:`` and ``!``
as they are in a query and encodes ``=`` and ``&``; SQLAlchemy encodes ``@`` and ``:`` only;
some write lowercase hex), and a message quoting a value with ``repr`` may be written into
JSON, which escapes that ``repr`` again.
"""

from __future__ import annotations

import json

import pytest
from databay.redaction import forget_secrets, redact, register_secret

SECRET = "P@ss=w:rd!&x y+é\"'\\"


@pytest.fixture(autouse=True)
def secret():
    forget_secrets()
    register_secret(SECRET, "${PASSWORD}")
    yield SECRET
    forget_secrets()


@pytest.mark.parametrize("shown", [
    "P@ss%3Dw:rd!%26x+y%2B%C3%A9%22'%5C",          # as yarl writes it in a query
    "P%40ss=w%3Ard!&x%20y+%c3%a9\"'\\",            # the delimiters only, lowercase hex
    "P%40ss%3Dw%3Ard%21%26x%20y%2B%C3%A9%22%27%5C",  # everything
    json.dumps(f"not str ({SECRET!r})")[1:-1],     # a repr, inside JSON
    json.dumps(SECRET, ensure_ascii=False)[1:-1],  # JSON keeping non-ASCII as it is
])
def test_each_form_is_hidden(shown):
    text = redact(f"GET http://h/x?key={shown}&page=1 failed")
    assert text.startswith("GET http://h/x?key=") and "${PASSWORD}" in text
    assert "P@ss" not in text and "P%40ss" not in text and "rd!" not in text and "rd%21" not in text


def test_text_around_it_is_left_alone():
    assert redact("a 100% sure + plain line, 50%20 off") == "a 100% sure + plain line, 50%20 off"
    assert redact(f"[{SECRET}] and [{SECRET}]") == "[${PASSWORD}] and [${PASSWORD}]"
