"""A secret (registered with databay.redaction, as ``${VAR}`` values are) never appears in an
error or a URL shown; header values never appear at all; a server's answer never reaches the
terminal raw."""

from __future__ import annotations

import pickle

import pytest
from databay.redaction import register_secret
from databay_http import HttpInlet, HttpOutlet, HttpStatusError

KEY = "sk-live-4f9a0c2e"


@pytest.fixture(autouse=True)
def api_key(databay_secret):
    return databay_secret(KEY, "${API_KEY}")


def test_a_secret_in_the_query_is_redacted_from_errors(server, pull):
    server.route("/data", "no such key", status=403, content_type="text/plain")
    inlet = HttpInlet(server.url("/data"), params={"api_key": KEY, "page": 1})
    with pytest.raises(HttpStatusError) as caught:
        pull(inlet)
    assert server.seen[0].query == {"api_key": KEY, "page": "1"}  # sent, of course
    expected = server.url("/data?api_key=${API_KEY}&page=1")
    assert str(caught.value) == f"HttpInlet: GET {expected} returned 403 Forbidden: no such key"
    assert caught.value.url == expected
    assert KEY not in str(pickle.loads(pickle.dumps(caught.value)))


def test_a_secret_with_delimiters_in_params_is_redacted_however_yarl_encodes_it(server, pull):
    # yarl leaves '@', ':' and '!' as they are in a query, and encodes '=', '&' and '+'.
    password = "P@ss=w:rd!&x y+z"
    register_secret(password, "${PASSWORD}")
    server.route("/data", "no such key", status=403, content_type="text/plain")
    with pytest.raises(HttpStatusError) as caught:
        pull(HttpInlet(server.url("/data"), params={"password": password, "page": 1}))
    assert server.seen[0].query == {"password": password, "page": "1"}
    expected = server.url("/data?password=${PASSWORD}&page=1")
    assert str(caught.value) == f"HttpInlet: GET {expected} returned 403 Forbidden: no such key"


def test_a_secret_the_server_echoes_is_redacted(server, pull):
    server.route("/data", f"invalid key {KEY}", status=401, content_type="text/plain")
    with pytest.raises(HttpStatusError, match=r"returned 401 Unauthorized: invalid key \$\{API_KEY\}$") as caught:
        pull(HttpInlet(server.url("/data"), headers={"X-Api-Key": KEY}))
    assert KEY not in str(caught.value)


def test_a_secret_in_the_outlet_s_url_is_redacted(server, push_records):
    server.route("/ingest", "", status=500)
    with pytest.raises(HttpStatusError) as caught:
        push_records(HttpOutlet(server.url(f"/ingest?token={KEY}")), [{"id": 1}])
    assert KEY not in str(caught.value) and "token=${API_KEY}" in str(caught.value)


def test_invalid_urls_and_params_do_not_show_the_secret():
    with pytest.raises(ValueError) as caught:
        HttpInlet(f"ftp://example.org/x?key={KEY}")
    assert KEY not in str(caught.value) and "${API_KEY}" in str(caught.value)


@pytest.mark.parametrize("headers", [{"X-Api-Key": f"{KEY}\r\nX-Injected: 1"}, {"X-Api-Key": 42},
                                     [("X-Api-Key", KEY, "extra")]])
def test_header_values_never_appear_in_errors(headers):
    with pytest.raises(ValueError) as caught:
        HttpInlet("http://127.0.0.1/", headers=headers)
    assert KEY not in str(caught.value) and "42" not in str(caught.value)
    assert str(caught.value).startswith("HttpInlet: ")


def test_a_server_s_escape_sequences_are_escaped_in_the_error(server, pull):
    server.route("/evil", "\x1b[2J\x1b]0;pwned\x07gone\r\nLine two \x9b31m", status=500,
                 content_type="text/plain; charset=utf-8")
    with pytest.raises(HttpStatusError) as caught:
        pull(HttpInlet(server.url("/evil")))
    message = str(caught.value)
    assert message.endswith(r"returned 500 Internal Server Error: \x1b[2J\x1b]0;pwned\x07gone Line two \x9b31m")
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in message)
