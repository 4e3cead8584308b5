"""A secret in ``params`` is hidden in errors however yarl percent-encodes it (it leaves ``@``,
``:`` and ``!`` as they are in a query, and encodes ``=``, ``&`` and ``+``)."""

from __future__ import annotations

import pytest
from databay.redaction import forget_secrets, register_secret
from databay_http import HttpInlet, HttpStatusError

KEY = "P@ss=w:rd!&x y+z"


@pytest.fixture(autouse=True)
def api_key():
    forget_secrets()
    register_secret(KEY, "${API_KEY}")
    yield KEY
    forget_secrets()


def test_a_secret_with_delimiters_in_params_is_redacted_from_errors(server, pull):
    server.route("/data", "no such key", status=403, content_type="text/plain")
    with pytest.raises(HttpStatusError) as caught:
        pull(HttpInlet(server.url("/data"), params={"api_key": KEY, "page": 1}))
    assert server.seen[0].query == {"api_key": KEY, "page": "1"}
    assert str(caught.value) == (f"HttpInlet: GET {server.url('/data?api_key=${API_KEY}&page=1')} returned "
                                 "403 Forbidden: no such key")
    assert "P@ss" not in caught.value.url
