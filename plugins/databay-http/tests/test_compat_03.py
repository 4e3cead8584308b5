"""databay 0.3's HttpInlet attributes and behaviours that user code relies on."""

from __future__ import annotations

import logging

from databay import Link
from databay_http import HttpInlet


def test_cacert_false_means_the_system_s_trust(server, pull):
    inlet = HttpInlet(server.route("/todos", [1]), cacert=False)
    assert inlet.cacert is None
    assert pull(inlet) == [1]


def test_url_json_params_headers_and_cacert_are_attributes(ca_file):
    inlet = HttpInlet("http://127.0.0.1:1/x", False, ca_file, {"page": 1}, {"X-Trace": "abc"})
    assert (inlet.url, inlet.json, inlet.cacert, inlet.params) == ("http://127.0.0.1:1/x", False, ca_file, {"page": 1})
    assert dict(inlet.headers) == {"X-Trace": "abc"}


def test_changing_json_or_params_changes_the_next_pull(server, pull):
    inlet = HttpInlet(server.url("/echo"), params={"page": 1})
    [echo] = pull(inlet)
    assert echo["query"] == {"page": "1"}
    inlet.params = {"page": 2}
    [echo] = pull(inlet)
    assert echo["query"] == {"page": "2"}
    inlet.json = False
    [text] = pull(inlet)
    assert isinstance(text, str) and '"page": "2"' in text


def test_changing_headers_or_url_changes_the_next_pull(server, pull):
    inlet = HttpInlet(server.url("/echo"), headers={"X-Trace": "one"})
    inlet.headers["X-Trace"] = "two"
    assert pull(inlet)[0]["headers"]["X-Trace"] == "two"
    inlet.headers = {"X-Other": "three"}
    [echo] = pull(inlet)
    assert echo["headers"]["X-Other"] == "three" and "X-Trace" not in echo["headers"]
    inlet.url = server.route("/todos", [1, 2])
    assert pull(inlet) == [1, 2]


def test_an_empty_response_logs_no_results(server, caplog):
    url = server.route("/empty", b"")
    link = Link(HttpInlet(url), [], interval=1, tags="empty")
    with caplog.at_level(logging.INFO, logger="databay.HttpInlet"):
        link.transfer()
    assert [r.getMessage() for r in caplog.records if r.name == "databay.HttpInlet"] == [
        f"empty.0 pulling {url}", f"empty.0 received {url}", f"empty.0 no results {url}"]
