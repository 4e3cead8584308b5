"""Helpers of the tests: an HTTP client for the dashboard (the standard library's, cookies
kept, redirects not followed), a running pipeline, waiting for a condition, the samples of
``/metrics``."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from databay_web.passwords import hash_password
from prometheus_client.parser import text_string_to_metric_families

PASSWORD = "correct horse battery"
TOKEN = "a-token-for-scripts-0123456789"
HASH = hash_password(PASSWORD)


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)


@dataclass
class Client:
    """Requests to the dashboard; keeps cookies like a browser."""

    url: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Response:
        parsed = urllib.parse.urlsplit(self.url)
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=headers)
        reply = connection.getresponse()
        response = Response(reply.status, reply.headers, reply.read())
        connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, path: str, **headers) -> Response:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, fields: dict | None = None, **headers) -> Response:
        body = urllib.parse.urlencode(fields or {}).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded", **headers})

    def api(self, method: str, path: str) -> Response:
        return self.request(method, path, headers={"Authorization": f"Bearer {TOKEN}"})

    def login(self, user: str = "alice", password: str = PASSWORD) -> Response:
        page = self.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        return self.post("/login", {"csrf": token, "user": user, "password": password, "next": "/"})

    def csrf(self, path: str = "/") -> str:
        """The CSRF token of the logged-in session, from a page's forms."""
        return re.search(r'name="csrf" value="([^"]*)"', self.get(path).text).group(1)


@dataclass
class Running:
    pipeline: object
    service: object
    thread: threading.Thread
    client: Client

    def overview(self) -> dict:
        return self.client.get("/api/overview").json()


def wait_for(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of a ``/metrics`` text: ``{(name, sorted (label, value) pairs): value}``."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}
