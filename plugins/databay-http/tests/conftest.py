"""Real HTTP(S) servers on 127.0.0.1 for the tests, and addresses where nothing answers.

``server`` is an aiohttp.web server in a background thread (its own event loop), up for
the whole session; each test starts with no routes and no recorded requests. A route
answers with a fixed body, status and delay; ``/echo`` answers with what it received.
Every request is recorded with the client's address, so tests can count the connections
a component used.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web
from databay.inlet import Inlet
from databay.outlet import Outlet
from databay.record import Record


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/json"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    repeat: int = 0  # > 0: stream the body that many times, chunked (no Content-Length)
    gzip: bool = False  # send the body gzip-compressed (Content-Encoding: gzip)


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    peer: tuple[str, int]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    """An aiohttp.web server on a free port of 127.0.0.1, run by a thread."""

    ssl_context: Any = None
    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def start(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.SockSite(self._runner, self._sock, ssl_context=self.ssl_context)
        self._loop.run_until_complete(site.start())
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-http-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def url(self, path: str) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def route(self, path: str, body: Any = b"", *, status: int = 200, delay: float = 0.0,
              content_type: str = "application/json", headers: dict[str, str] | None = None,
              repeat: int = 0, gzip: bool = False) -> str:
        """Answer requests to ``path`` with ``body`` (bytes, str, or a value sent as JSON);
        returns the path's URL."""
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.routes[path] = Route(body, status, content_type, delay, headers or {}, repeat, gzip)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        """Answer requests to ``path`` with a redirect to ``location``; returns the path's URL."""
        return self.route(path, status=status, headers={"Location": location})

    def seen_at(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    def peers(self, path: str | None = None) -> set[tuple[str, int]]:
        """The client addresses (one per connection) of the requests seen (to ``path``)."""
        return {s.peer for s in self.seen if path is None or s.path == path}

    def open_connections(self) -> int:
        return len(self._runner.server.connections)

    def wait_for_no_connections(self, timeout: float = 5.0) -> int:
        deadline = time.monotonic() + timeout
        while self.open_connections() and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.open_connections()

    def reset(self) -> None:
        self.routes.clear()
        self.seen.clear()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(Seen(request.method, request.path, dict(request.query), dict(request.headers), body,
                              request.transport.get_extra_info("peername")[:2]))
        if request.path == "/echo":
            return web.json_response({"method": request.method, "query": dict(request.query),
                                      "headers": dict(request.headers), "body": body.decode()})
        route = self.routes.get(request.path)
        if route is None:
            return web.Response(status=404, text=f"no route {request.path}")
        if route.delay:
            await asyncio.sleep(route.delay)
        headers = {"Content-Type": route.content_type, **route.headers}
        if route.repeat:
            response = web.StreamResponse(status=route.status, headers=headers)
            await response.prepare(request)
            for _ in range(route.repeat):
                await response.write(route.body)
            await response.write_eof()
            return response
        body = route.body
        if route.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return web.Response(status=route.status, body=body, headers=headers)


def _running(server: Server) -> Iterator[Server]:
    server.start()
    yield server
    server.stop()


def _fresh(server: Server) -> Iterator[Server]:
    server.reset()
    yield server
    server.reset()


@pytest.fixture(scope="session")
def _http_server() -> Iterator[Server]:
    yield from _running(Server())


@pytest.fixture
def server(_http_server: Server) -> Iterator[Server]:
    """The HTTP server, with no routes and no requests seen yet."""
    yield from _fresh(_http_server)


@pytest.fixture(scope="session")
def _other_http_server() -> Iterator[Server]:
    yield from _running(Server())


@pytest.fixture
def other_server(_other_http_server: Server) -> Iterator[Server]:
    """A second HTTP server on another port of 127.0.0.1: another origin than ``server``'s."""
    yield from _fresh(_other_http_server)


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """A certificate authority made for this test session."""
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test CA's certificate as a PEM file, for ``cacert``."""
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="session")
def _https_server(ca: trustme.CA) -> Iterator[Server]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    yield from _running(Server(ssl_context=context))


@pytest.fixture
def tls_server(_https_server: Server) -> Iterator[Server]:
    """An HTTPS server whose certificate is signed by the test CA (``ca_file``)."""
    yield from _fresh(_https_server)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def refused_url() -> str:
    """A URL on a loopback port where nothing listens: connecting is refused."""
    return f"http://127.0.0.1:{free_port()}/data"


@pytest.fixture
def unreachable_url() -> Iterator[str]:
    """A URL whose host never answers connection attempts (as a host behind a firewall
    that drops packets): a listening socket whose backlog is full, so the kernel drops
    further connection requests."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=5)  # fills the backlog of 0
    yield f"http://127.0.0.1:{port}/data"
    filler.close()
    listener.close()


class Collector(Outlet):
    """Keeps every record pushed to it."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list = []

    def push(self, records, update):
        self.records.extend(records)

    @property
    def payloads(self) -> list:
        return [record.payload for record in self.records]


@pytest.fixture
def pull(pull_records) -> Callable[[Inlet], list]:
    """``pull(inlet)``: the payloads of one transfer of ``inlet`` alone (started and shut down)."""
    return lambda inlet: [record.payload for record in pull_records(inlet)]


@pytest.fixture
def collector() -> Collector:
    return Collector()


class RecordsInlet(Inlet):
    """Produces the given records (or payloads) on every pull."""

    def __init__(self, records: list) -> None:
        super().__init__()
        self.records = records

    def pull(self, update):
        return [r if isinstance(r, Record) else self.new_record(r) for r in self.records]


@pytest.fixture(scope="session")
def records_inlet() -> type[RecordsInlet]:
    """``records_inlet(records)``: an inlet producing ``records`` (or payloads) on every pull."""
    return RecordsInlet
