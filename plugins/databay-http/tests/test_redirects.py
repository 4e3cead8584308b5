"""Redirects: the configured headers, the URL's credentials and the body stay with their origin.

Two origins are two servers on 127.0.0.1 (two ports): ``server`` and ``other_server``.
"""

from __future__ import annotations

import base64

import pytest
from databay import Link
from databay_http import HttpInlet, HttpOutlet, HttpRedirectError

SECRET_HEADERS = {"X-Api-Key": "k3y", "Authorization": "Bearer t0ken", "Cookie": "session=c00kie"}


def leaked(seen) -> dict[str, str]:
    """The configured credentials a request carried."""
    return {name: value for name, value in seen.headers.items()
            if name in SECRET_HEADERS or value in SECRET_HEADERS.values()}


def test_a_redirect_within_the_origin_keeps_headers_credentials_and_body(server, pull):
    server.redirect("/old", "/echo", status=307)
    host = f"127.0.0.1:{server.port}"
    inlet = HttpInlet(f"http://user:pa55@{host}/old", method="POST", json_body={"q": 1}, headers=SECRET_HEADERS)
    [echo] = pull(inlet)
    assert echo["method"] == "POST" and echo["body"] == '{"q": 1}'
    assert {k: echo["headers"][k] for k in ("X-Api-Key", "Cookie")} == {"X-Api-Key": "k3y", "Cookie": "session=c00kie"}
    assert echo["headers"]["Authorization"] == "Bearer t0ken"  # the configured header wins over the URL's


def test_url_credentials_follow_a_redirect_within_the_origin(server, pull):
    server.redirect("/old", "/echo")
    [echo] = pull(HttpInlet(f"http://user:pa55@127.0.0.1:{server.port}/old"))
    assert echo["headers"]["Authorization"] == "Basic " + base64.b64encode(b"user:pa55").decode()


def test_a_redirect_to_another_origin_is_followed_without_the_configured_headers(server, other_server, pull):
    other_server.route("/todos", [1, 2])
    server.redirect("/todos", other_server.url("/todos"))
    inlet = HttpInlet(f"http://user:pa55@127.0.0.1:{server.port}/todos", headers=SECRET_HEADERS)
    assert pull(inlet) == [1, 2]
    [first] = server.seen_at("/todos")
    assert leaked(first) == SECRET_HEADERS
    [there] = other_server.seen
    assert leaked(there) == {} and "Authorization" not in there.headers


@pytest.mark.parametrize("status", [307, 308])
def test_the_body_is_never_resent_to_another_origin(server, other_server, pull, status):
    server.redirect("/query", other_server.url("/echo"), status=status)
    inlet = HttpInlet(server.url("/query"), method="POST", json_body={"secret": "payload"}, headers=SECRET_HEADERS)
    with pytest.raises(HttpRedirectError) as caught:
        pull(inlet)
    assert other_server.seen == []
    reason = {307: "Temporary Redirect", 308: "Permanent Redirect"}[status]
    assert str(caught.value) == (
        f"HttpInlet: POST {server.url('/query')} returned {status} {reason}, a redirect to {other_server.url('/echo')}, "
        f"another origin than 127.0.0.1:{server.port}: the request's body and headers are not sent there. "
        f"To send them, add '127.0.0.1:{other_server.port}' to redirect_hosts")
    assert (caught.value.status, caught.value.location) == (status, other_server.url("/echo"))


def test_a_303_to_another_origin_continues_as_a_get_without_body_or_headers(server, other_server, pull):
    other_server.route("/result", {"done": True})
    server.redirect("/jobs", other_server.url("/result"), status=303)
    inlet = HttpInlet(server.url("/jobs"), method="POST", json_body={"run": 1}, headers=SECRET_HEADERS)
    assert pull(inlet) == [{"done": True}]
    [there] = other_server.seen
    assert (there.method, there.body, leaked(there)) == ("GET", b"", {})


@pytest.mark.parametrize("allowed", ["127.0.0.1:{port}", "127.0.0.1"])
def test_redirect_hosts_may_receive_headers_and_body(server, other_server, pull, allowed):
    server.redirect("/query", other_server.url("/echo"), status=307)
    inlet = HttpInlet(server.url("/query"), method="POST", json_body={"q": 1}, headers=SECRET_HEADERS,
                      redirect_hosts=[allowed.format(port=other_server.port)])
    [echo] = pull(inlet)
    assert echo["body"] == '{"q": 1}' and echo["headers"]["X-Api-Key"] == "k3y"


def test_https_never_hands_its_headers_down_to_http(tls_server, other_server, ca_file, pull):
    other_server.route("/todos", [1])
    tls_server.redirect("/todos", other_server.url("/todos"))
    inlet = HttpInlet(tls_server.url("/todos"), cacert=ca_file, headers=SECRET_HEADERS, redirect_hosts=["127.0.0.1"])
    assert pull(inlet) == [1]
    [there] = other_server.seen
    assert leaked(there) == {}


def test_follow_redirects_false_makes_any_redirect_an_error(server, other_server, pull):
    server.redirect("/old", "/new", status=301)
    with pytest.raises(HttpRedirectError, match=r"returned 301 Moved Permanently, a redirect to "
                                                r"http://127\.0\.0\.1:\d+/new, not followed \(follow_redirects=False\)"):
        pull(HttpInlet(server.url("/old"), follow_redirects=False))
    assert [s.path for s in server.seen] == ["/old"]


def test_a_redirect_loop_stops_after_ten(server, pull):
    server.redirect("/loop", "/loop")
    with pytest.raises(HttpRedirectError, match="was redirected more than 10 times in a row"):
        pull(HttpInlet(server.url("/loop")))
    assert len(server.seen) == 11


def test_a_redirect_to_another_scheme_is_refused(server, pull):
    server.redirect("/file", "file:///etc/passwd")
    with pytest.raises(HttpRedirectError, match=r"a redirect to 'file:///etc/passwd', which is not an http\(s\) URL"):
        pull(HttpInlet(server.url("/file")))


@pytest.mark.parametrize("hosts", ["127.0.0.1", ["http://127.0.0.1"], ["a/b"], [1]])
def test_redirect_hosts_are_checked(hosts):
    with pytest.raises(ValueError, match="HttpInlet: redirect_hosts"):
        HttpInlet("http://127.0.0.1/", redirect_hosts=hosts)


# -- HttpOutlet --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [307, 308])
def test_the_outlet_never_sends_records_to_another_origin(server, other_server, push_records, status):
    server.redirect("/ingest", other_server.url("/echo"), status=status)
    outlet = HttpOutlet(server.url("/ingest"), headers=SECRET_HEADERS)
    with pytest.raises(HttpRedirectError, match="another origin"):
        push_records(outlet, [{"id": 1}])
    assert other_server.seen == []


def test_the_outlet_sends_records_to_redirect_hosts(server, other_server, push_records):
    server.redirect("/ingest", other_server.url("/echo"), status=308)
    outlet = HttpOutlet(server.url("/ingest"), headers=SECRET_HEADERS,
                        redirect_hosts=[f"127.0.0.1:{other_server.port}"])
    push_records(outlet, [{"id": 1}])
    [there] = other_server.seen
    assert there.json() == [{"id": 1}] and there.headers["X-Api-Key"] == "k3y"


def test_the_outlet_follows_a_redirect_within_its_origin(server, records_inlet):
    server.redirect("/ingest", "/echo", status=307)
    Link(records_inlet([{"id": 1}]), HttpOutlet(server.url("/ingest"), headers=SECRET_HEADERS),
         interval=1).transfer()
    [there] = server.seen_at("/echo")
    assert there.json() == [{"id": 1}] and there.headers["X-Api-Key"] == "k3y"
