"""HTTPS against a server whose certificate a CA made by the test signed (trustme)."""

from __future__ import annotations

import pytest
import trustme
from databay import Link
from databay_http import HttpConnectionError, HttpInlet, HttpOutlet, HttpTLSError


def test_trusted_through_cacert(tls_server, ca_file, pull):
    url = tls_server.route("/todos", [{"id": 1}])
    assert url.startswith("https://")
    assert pull(HttpInlet(url, cacert=str(ca_file))) == [{"id": 1}]


def test_cacert_as_a_path(tls_server, ca_file, pull):
    assert pull(HttpInlet(tls_server.route("/todos", [1]), cacert=ca_file)) == [1]


def test_rejected_without_cacert(tls_server, pull):
    url = tls_server.route("/todos", [{"id": 1}])
    with pytest.raises(HttpTLSError) as caught:
        pull(HttpInlet(url))
    assert isinstance(caught.value, HttpConnectionError)
    message = str(caught.value)
    assert message.startswith(f"HttpInlet: GET {url} failed: the certificate of 127.0.0.1:{tls_server.port} "
                              f"is not trusted (")
    assert "pass cacert=" in message
    assert tls_server.seen == []  # nothing was sent


def test_rejected_when_cacert_is_another_ca(tls_server, tmp_path, pull):
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with pytest.raises(HttpTLSError, match="is not trusted"):
        pull(HttpInlet(tls_server.route("/todos", [1]), cacert=other))


def test_verify_false_accepts_any_certificate(tls_server, pull):
    assert pull(HttpInlet(tls_server.route("/todos", [1]), verify=False)) == [1]


def test_cacert_file_that_is_not_a_certificate(tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ValueError, match=r"^HttpInlet: cannot load trusted certificates from cacert="):
        HttpInlet("https://127.0.0.1/", cacert=bad)


def test_outlet_over_https(tls_server, ca_file, records_inlet):
    inlet = records_inlet([{"id": 1}])
    link = Link(inlet, HttpOutlet(tls_server.url("/echo"), cacert=ca_file), interval=1)
    assert link.transfer().records_pushed == 1
    assert tls_server.seen[0].json() == [{"id": 1}]
    untrusted = Link(inlet, HttpOutlet(tls_server.url("/echo")), interval=1)
    with pytest.raises(HttpTLSError, match=r"^HttpOutlet: POST https://127.0.0.1:\d+/echo failed: the certificate"):
        untrusted.transfer()
