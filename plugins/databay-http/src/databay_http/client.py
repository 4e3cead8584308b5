"""What :class:`HttpInlet` and :class:`HttpOutlet` share: the request settings, one
aiohttp connection pool per component, and aiohttp's errors turned into databay-http's.

An aiohttp ``ClientSession`` belongs to the event loop it was opened on and must not be
used from another. A component normally runs on one loop for its whole life (its planner's
loop, or the thread's private loop of ``Link.transfer()``), so it normally has one session:
opened on start, reused by every request, closed on shutdown. Should it be used from
another loop too (two planners sharing it, a test calling ``asyncio.run``), that loop gets
a session of its own, and each session is closed on its own loop.
"""

from __future__ import annotations

import asyncio
import math
import os
import ssl
import threading
from collections.abc import AsyncGenerator, Coroutine, Mapping
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from databay_http.errors import (
    HttpConnectionError,
    HttpError,
    HttpStatusError,
    HttpTimeoutError,
    HttpTLSError,
)

BODY_EXCERPT = 1000
"""How many bytes of a body errors keep (their messages show the first 200 characters)."""


def parse_url(owner: str, url: str | URL, params: Any = None) -> URL:
    """``url`` (with ``params`` added to its query) as a ``URL``; ``ValueError`` if it is not
    an absolute http(s) URL."""
    try:
        parsed = URL(url)
        if params:
            parsed = parsed.extend_query(params)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{owner}: invalid url {str(url)!r} or params {params!r}: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"{owner}: url must be an absolute http:// or https:// URL, got {str(url)!r}")
    return parsed


def check_method(owner: str, method: str) -> str:
    """``method`` in capitals; ``ValueError`` if it is not a method name."""
    if not isinstance(method, str) or not method.isalpha():
        raise ValueError(f"{owner}: method must be an HTTP method such as 'GET' or 'POST', got {method!r}")
    return method.upper()


def display(url: URL) -> str:
    """``url`` as errors and logs show it: without user name and password."""
    return str(url.with_user(None)) if url.user is not None else str(url)


def excerpt(body: bytes, limit: int = 200) -> str:
    """The start of ``body`` as text, for messages."""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + "..."


class HttpClient:
    """Sends the requests of one component through its connection pool.

    :param owner: the component's class name, which starts every error message.
    :param headers: headers of every request.
    :param timeout: seconds a whole request (connecting, sending, receiving) may take.
    :param connect_timeout: seconds connecting (including a free connection of the pool
        and the TLS handshake) may take.
    :param cacert: path of a PEM file of the certificate authorities to trust for https
        (instead of the system's); ``None`` trusts the system's.
    :param verify: verify https certificates; ``False`` accepts any certificate.
    :param session_options: further ``aiohttp.ClientSession`` keyword arguments; they win
        over the settings above.
    """

    def __init__(
        self,
        owner: str,
        headers: Any = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        cacert: str | os.PathLike | None = None,
        verify: bool = True,
        session_options: Mapping[str, Any] | None = None,
    ):
        self.owner = owner
        for name, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise ValueError(f"{owner}: {name} must be a positive number of seconds, got {value!r}")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        try:
            self.headers = CIMultiDict(headers or {})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{owner}: invalid headers {headers!r}: {exc}") from exc
        self._ssl = _tls_setting(owner, cacert, verify)
        self._session_options = dict(session_options or {})
        if "connector" in self._session_options:
            raise ValueError(f"{owner}: session_options cannot set 'connector': a connector belongs to one "
                             f"event loop, and each loop that runs the {owner} gets a session of its own")
        # Open between open() and close(): the session of each loop that used it, with
        # the guard that closes it when that loop shuts down. None: closed.
        self._pools: dict[asyncio.AbstractEventLoop, tuple[aiohttp.ClientSession, AsyncGenerator]] | None = None
        self._lock = threading.Lock()

    # -- the pool ----------------------------------------------------------------------

    async def open(self) -> None:
        """Open the connection pool (on the running loop; other loops open theirs on first use)."""
        with self._lock:
            if self._pools is None:
                self._pools = {}
        await self._pooled_session(asyncio.get_running_loop())

    async def close(self) -> None:
        """Close the connection pool: every loop's session, each on its own loop."""
        with self._lock:
            pools, self._pools = self._pools, None
        running = asyncio.get_running_loop()
        for loop, (session, guard) in (pools or {}).items():
            if loop is running or loop.is_closed() or not _close_on(loop, session, guard):
                # On a closed loop nothing can run any more: this only forgets the session.
                await _close(session, guard)

    def _new_session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(**{
            "connector": aiohttp.TCPConnector(ssl=self._ssl),
            "headers": self.headers,
            "timeout": aiohttp.ClientTimeout(total=self.timeout, connect=self.connect_timeout),
            **self._session_options,
        })

    async def _pooled_session(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession | None:
        """The session of ``loop`` (the running loop), opened if it has none; ``None`` when
        the pool is closed."""
        with self._lock:
            pools = self._pools
            if pools is None:
                return None
            entry = pools.get(loop)
            if entry is not None:
                return entry[0]
            session = self._new_session()
            guard = _closed_with_its_loop(session)
            pools[loop] = (session, guard)
            gone = [pools.pop(other) for other in list(pools) if other.is_closed()]
        await anext(guard)
        for stale in gone:
            await _close(*stale)
        return session

    # -- requests ----------------------------------------------------------------------

    def request(
        self, method: str, url: URL, data: Any = None, headers: Any = None
    ) -> Coroutine[Any, Any, tuple[aiohttp.ClientResponse, bytes]]:
        """Send one request and read its whole response: ``await`` it for ``(response, body)``.

        Between :meth:`open` and :meth:`close` the request goes through the pool; outside,
        through a session of its own (as databay 0.3 did for every request).

        :raises HttpStatusError: the status is 400 or more.
        :raises HttpConnectionError: the server could not be reached (:class:`HttpTLSError`
            when the TLS handshake failed).
        :raises HttpTimeoutError: it took longer than ``connect_timeout`` or ``timeout``.
        """
        # A plain method returning the coroutine that sends: with a hundred requests in
        # flight, one coroutine less to resume at every step of every request counts.
        pools = self._pools
        if pools is not None:
            entry = pools.get(asyncio.get_running_loop())
            if entry is not None:
                return self._send(entry[0], method, url, data, headers)
        return self._open_and_send(method, url, data, headers)

    async def _open_and_send(
        self, method: str, url: URL, data: Any, headers: Any
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        session = await self._pooled_session(asyncio.get_running_loop())
        if session is None:  # the pool is closed: a session for this request alone
            async with self._new_session() as alone:
                return await self._send(alone, method, url, data, headers)
        return await self._send(session, method, url, data, headers)

    async def _send(
        self, session: aiohttp.ClientSession, method: str, url: URL, data: Any, headers: Any
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        try:
            async with session.request(method, url, data=data, headers=headers) as response:
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._failure(method, url, exc) from exc
        if response.status >= 400:
            where = display(url)
            message = f"{self.owner}: {method} {where} returned {response.status} {response.reason}"
            if body:
                message += ": " + " ".join(excerpt(body).split())  # on one line
            raise HttpStatusError(message, method, where, response.status, response.reason or "",
                                  body[:BODY_EXCERPT])
        return response, body

    def _failure(self, method: str, url: URL, exc: Exception) -> HttpError:
        """The error of databay-http saying what ``exc`` (raised by aiohttp) means."""
        where = display(url)
        prefix = f"{self.owner}: {method} {where}"
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return HttpTimeoutError(f"{prefix} timed out: no connection to {url.host}:{url.port} "
                                    f"within connect_timeout={self.connect_timeout:g} s", method, where)
        if isinstance(exc, TimeoutError):
            return HttpTimeoutError(f"{prefix} timed out: no complete response within "
                                    f"timeout={self.timeout:g} s", method, where)
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            reason = getattr(exc.certificate_error, "verify_message", None) or exc.certificate_error
            return HttpTLSError(f"{prefix} failed: the certificate of {url.host}:{url.port} is not trusted "
                                f"({reason}); pass cacert='path/to/ca.pem' to trust a private certificate authority",
                                method, where)
        if isinstance(exc, aiohttp.ClientSSLError):
            return HttpTLSError(f"{prefix} failed: TLS handshake with {url.host}:{url.port} failed: "
                                f"{exc.os_error}", method, where)
        if isinstance(exc, aiohttp.ClientConnectorDNSError):
            return HttpConnectionError(f"{prefix} failed: cannot resolve host {url.host!r}: "
                                       f"{_os_reason(exc.os_error)}", method, where)
        if isinstance(exc, aiohttp.ClientConnectorError):
            return HttpConnectionError(f"{prefix} failed: cannot connect to {url.host}:{url.port}: "
                                       f"{_os_reason(exc.os_error)}", method, where)
        if isinstance(exc, aiohttp.ClientPayloadError):
            return HttpConnectionError(f"{prefix} failed: the response broke off: {exc}", method, where)
        if isinstance(exc, aiohttp.ClientConnectionError):
            return HttpConnectionError(f"{prefix} failed: the connection broke: {str(exc) or type(exc).__name__}",
                                       method, where)
        return HttpError(f"{prefix} failed: {type(exc).__name__}: {exc}", method, where)


class HttpComponent:
    """The part :class:`~databay_http.inlet.HttpInlet` and :class:`~databay_http.outlet.HttpOutlet`
    share: the URL and method of their requests, and an :class:`HttpClient` whose
    connection pool is open from ``on_start`` to ``on_shutdown``.

    A component calls :meth:`_set_up_requests` in its ``__init__``.
    """

    def _set_up_requests(
        self,
        owner: str,
        url: str | URL,
        params: Any,
        method: str,
        headers: Any,
        timeout: float,
        connect_timeout: float,
        cacert: str | os.PathLike | None,
        verify: bool,
        session_options: Mapping[str, Any] | None,
    ) -> None:
        """Check the request settings (``ValueError`` naming ``owner``) and make the client."""
        self._url = parse_url(owner, url, params)
        self._display = display(self._url)
        self._method = check_method(owner, method)
        self._client = HttpClient(owner, headers, timeout, connect_timeout, cacert, verify, session_options)

    @property
    def url(self) -> str:
        """The URL requested (with ``params`` in its query, without credentials); for an
        outlet, the one records go to unless their metadata names another."""
        return self._display

    @property
    def method(self) -> str:
        """The HTTP method of the requests."""
        return self._method

    async def on_start(self) -> None:
        """Open the connection pool, on the event loop that runs the pulls or pushes."""
        await self._client.open()

    async def on_shutdown(self) -> None:
        """Close the connection pool."""
        await self._client.close()


def _tls_setting(owner: str, cacert: str | os.PathLike | None, verify: bool) -> ssl.SSLContext | bool:
    """aiohttp's ``ssl`` argument: ``True`` (the system's trust), a context trusting
    ``cacert``, or ``False`` (no verification)."""
    if not verify:
        if cacert is not None:
            raise ValueError(f"{owner}: cacert={cacert!r} and verify=False contradict each other: "
                             f"drop verify=False to trust cacert")
        return False
    if cacert is None:
        return True
    try:
        return ssl.create_default_context(cafile=os.fspath(cacert))
    except (OSError, ssl.SSLError, TypeError) as exc:
        raise ValueError(f"{owner}: cannot load trusted certificates from cacert={cacert!r}: {exc}") from exc


def _os_reason(error: OSError) -> str:
    """``'Connection refused'`` rather than ``"[Errno 111] Connect call failed ('127.0.0.1', 1)"``."""
    if isinstance(error.errno, int) and error.errno > 0:  # (a getaddrinfo error's is negative)
        return os.strerror(error.errno)
    return error.strerror or str(error)


async def _closed_with_its_loop(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    """Stays suspended while ``session`` is open. Closing it (``aclose()``) closes the
    session; so does the session's loop when it shuts down (``loop.shutdown_asyncgens()``,
    which ``asyncio.run`` and planners call), should nobody have closed it before: a
    session never outlives its loop with its connections open."""
    try:
        yield
    finally:
        await session.close()


async def _close(session: aiohttp.ClientSession, guard: AsyncGenerator) -> None:
    await guard.aclose()
    await session.close()  # in case the guard had not started yet


_closing: set[asyncio.Task] = set()


def _close_on(loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession, guard: AsyncGenerator) -> bool:
    """Close ``session`` and its ``guard`` on their own loop: now if the loop runs, else
    when it next runs. ``False`` when that loop closed meanwhile."""

    def close() -> None:
        task = loop.create_task(_close(session, guard))
        _closing.add(task)
        task.add_done_callback(_closing.discard)

    try:
        loop.call_soon_threadsafe(close)
    except RuntimeError:
        return False
    return True
