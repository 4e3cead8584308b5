"""An S3 server for the tests: moto on a free loopback port, or $DATABAY_TEST_S3_ENDPOINT.

Each test gets its own bucket (``bucket`` fixture), emptied and deleted afterwards. With
moto, boto3 gets throwaway credentials from the environment; with an external endpoint,
the credentials are boto3's usual ones (environment, profile, role).
"""

from __future__ import annotations

import http.client
import http.server
import itertools
import os
import threading
import urllib.parse
from collections.abc import Iterator

import boto3
import pytest
from databay_s3.testing import TEST_CREDENTIALS, external_test_endpoint, server_for_tests

_names = itertools.count()

@pytest.fixture(scope="session", autouse=True)
def credentials() -> Iterator[None]:
    """Throwaway credentials for moto (kept as they are for an external endpoint)."""
    if external_test_endpoint() is not None:
        yield
        return
    saved = {name: os.environ.get(name) for name in TEST_CREDENTIALS}
    os.environ.update(TEST_CREDENTIALS)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def endpoint(credentials) -> Iterator[str]:
    """The endpoint URL of the test server, up for the whole session."""
    with server_for_tests() as url:
        yield url


@pytest.fixture(scope="session")
def s3(endpoint: str):
    """A plain boto3 client of the test server, to check what the components did."""
    client = boto3.client("s3", endpoint_url=endpoint)
    yield client
    client.close()


class BucketView:
    """A bucket of the test server, and ways to look into it."""

    def __init__(self, s3, name: str):
        self.s3 = s3
        self.name = name

    def keys(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix``, in key order."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return [entry["Key"] for page in pages for entry in page.get("Contents", [])]

    def read(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.name, Key=key)["Body"].read()

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.name, Key=key, Body=body)

    def delete(self) -> None:
        keys = self.keys()
        for start in range(0, len(keys), 1000):
            objects = [{"Key": key} for key in keys[start:start + 1000]]
            self.s3.delete_objects(Bucket=self.name, Delete={"Objects": objects, "Quiet": True})
        self.s3.delete_bucket(Bucket=self.name)


@pytest.fixture
def bucket(s3) -> Iterator[BucketView]:
    """A fresh, empty bucket for this test (``.name``); emptied and deleted afterwards."""
    made = BucketView(s3, f"databay-test-{os.getpid()}-{next(_names)}")
    s3.create_bucket(Bucket=made.name)
    yield made
    made.delete()


class S3Proxy:
    """An HTTP proxy on a loopback port in front of the test server, which can refuse
    requests the way an S3 server does (an XML error with a code) or go away entirely.

    It plays the servers moto cannot: one whose quota is exhausted, one that throttles.
    Requests it does not refuse go to the test server unchanged.
    """

    def __init__(self, target: str):
        self.target = urllib.parse.urlsplit(target)
        self.refusals: list[dict] = []
        self.refused = 0
        self._server: http.server.ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def refuse(self, status: int, code: str, message: str, *, method: str = "PUT", times: int | None = None,
               path_contains: str = "") -> None:
        """Answer ``times`` (``None``: all) further ``method`` requests whose path contains
        ``path_contains`` with an S3 error."""
        self.refusals.append({"status": status, "code": code, "message": message, "method": method,
                              "times": times, "path": path_contains})

    def start(self) -> S3Proxy:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def handle_one(self) -> None:
                body = self._body()
                refusal = proxy._refusal(self.command, self.path)
                if refusal is not None:
                    error = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{refusal["code"]}</Code>'
                             f'<Message>{refusal["message"]}</Message><Resource>{self.path}</Resource>'
                             f'<RequestId>databay-test</RequestId></Error>').encode()
                    self.send_response(refusal["status"])
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                upstream = http.client.HTTPConnection(proxy.target.hostname, proxy.target.port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "transfer-encoding"}
                    headers["Content-Length"] = str(len(body))
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                    self.send_response(answer.status)
                    for name, value in answer.getheaders():
                        if name.lower() not in ("transfer-encoding", "connection", "content-length", "server",
                                                "date"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    upstream.close()

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if not size:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one  # noqa: N815 - http.server's names

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the port: connections are refused until :meth:`start` (on the same port)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def _refusal(self, method: str, path: str) -> dict | None:
        for refusal in self.refusals:
            if refusal["method"] == method and refusal["path"] in path and refusal["times"] != 0:
                if refusal["times"] is not None:
                    refusal["times"] -= 1
                self.refused += 1
                return refusal
        return None


@pytest.fixture
def proxy(endpoint: str) -> Iterator[S3Proxy]:
    """An :class:`S3Proxy` in front of the test server, started (moto only: a real server
    checks the signature of the Host header, which names the proxy)."""
    if external_test_endpoint() is not None:
        pytest.skip("the proxy forwards to moto only (a real S3 refuses requests signed for the proxy)")
    made = S3Proxy(endpoint).start()
    yield made
    made.stop()
