"""What :class:`HttpInlet` and :class:`HttpOutlet` share: the request settings, one
aiohttp connection pool per component, and aiohttp's errors turned into databay-http's.

An aiohttp ``ClientSession`` belongs to the event loop it was opened on and must not be
used from another. A component normally runs on one loop for its whole life (its planner's
loop, or the thread's private loop of ``Link.transfer()``), so it normally has one session:
opened on start, reused by every request, closed on shutdown. Should it be used from
another loop too (two planners sharing it, a test calling ``asyncio.run``), that loop gets
a session of its own, and each session is closed on its own loop.

Every request is sent with aiohttp's own redirects off: :mod:`databay_http.redirects` decides
which redirects are followed and what goes along (the configured headers, the URL's
credentials and the body stay with their origin). Bodies are read in chunks up to the
component's ``max_body_size`` (after decompression), never further.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import ssl
import threading
from collections.abc import AsyncGenerator, Coroutine, Iterable, Mapping
from typing import Any, Literal

import aiohttp
from databay.printable import escape_controls
from databay.redaction import redact
from multidict import CIMultiDict
from yarl import URL

from databay_http.errors import (
    HttpBodyTooLargeError,
    HttpConnectionError,
    HttpError,
    HttpRedirectError,
    HttpStatusError,
    HttpTimeoutError,
    HttpTLSError,
)
from databay_http.redirects import MAX_REDIRECTS, REDIRECT_STATUSES, RedirectPolicy, redirected_request

BODY_EXCERPT = 1000
"""How many bytes of a body errors keep (their messages show the first 200 characters)."""

DEFAULT_MAX_BODY_SIZE = 64 * 1024 * 1024
"""The largest response body an :class:`~databay_http.inlet.HttpInlet` reads by default: 64 MiB."""

_CHUNK = 64 * 1024

# Session options that would send credentials to any host a redirect leads to (aiohttp
# attaches a session's headers and auth to every request, its cookies to every host).
_CREDENTIAL_OPTIONS = {
    "headers": "pass headers= instead",
    "auth": "put user:password in the URL or an Authorization header in headers= instead",
    "cookies": "send them as a Cookie header in headers= instead",
}


def parse_url(owner: str, url: str | URL, params: Any = None) -> URL:
    """``url`` (with ``params`` added to its query) as a ``URL``; ``ValueError`` if it is not
    an absolute http(s) URL."""
    try:
        parsed = URL(url)
        if params:
            parsed = parsed.extend_query(params)
    except (TypeError, ValueError) as exc:
        raise ValueError(redact(f"{owner}: invalid url {str(url)!r} or params {params!r}: {exc}")) from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(redact(f"{owner}: url must be an absolute http:// or https:// URL, got {str(url)!r}"))
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


def one_line_excerpt(body: bytes) -> str:
    """The start of ``body`` on one line, its control characters escaped as ``repr`` writes
    them: a server's answer must not drive the terminal that shows the error."""
    return escape_controls(" ".join(excerpt(body).split()))


def _size(size: int) -> str:
    """``64 MiB``, ``512 KiB``, ``1,000 bytes``."""
    for unit, name in ((2**20, "MiB"), (2**10, "KiB")):
        if size % unit == 0:
            return f"{size // unit:,} {name}"
    return f"{size:,} bytes"


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
        over the settings above. Not ``connector``, nor ``headers``, ``auth`` or ``cookies``
        (aiohttp would send those to any host a redirect leads to).
    :param follow_redirects: follow redirects (see :mod:`databay_http.redirects`);
        ``False``: a redirect raises :class:`HttpRedirectError`.
    :param redirect_hosts: hosts (or ``host:port``) that redirects may take the headers,
        credentials and body to, besides the request's own origin.
    :param max_body_size: bytes of a response body read at most (:class:`HttpBodyTooLargeError`
        past it); ``None``: the body is read and dropped but for its first
        :data:`BODY_EXCERPT` bytes (an outlet, which only needs them for errors).
    :param content_type: the ``Content-Type`` of requests whose headers set none.
    """

    def __init__(
        self,
        owner: str,
        headers: Any = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        cacert: str | os.PathLike | Literal[False] | None = None,
        verify: bool = True,
        session_options: Mapping[str, Any] | None = None,
        follow_redirects: bool = True,
        redirect_hosts: Iterable[str] = (),
        max_body_size: int | None = DEFAULT_MAX_BODY_SIZE,
        content_type: str | None = None,
    ):
        self.owner = owner
        for name, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise ValueError(f"{owner}: {name} must be a positive number of seconds, got {value!r}")
        if max_body_size is not None and (isinstance(max_body_size, bool) or not isinstance(max_body_size, int)
                                          or max_body_size <= 0):
            raise ValueError(f"{owner}: max_body_size must be a positive number of bytes, got {max_body_size!r}")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_body_size = max_body_size
        self.content_type = content_type
        self.redirects = RedirectPolicy(owner, follow_redirects, redirect_hosts)
        self.headers = headers
        self._verify = verify
        self.cacert = cacert
        self._session_options = dict(session_options or {})
        if "connector" in self._session_options:
            raise ValueError(f"{owner}: session_options cannot set 'connector': a connector belongs to one "
                             f"event loop, and each loop that runs the {owner} gets a session of its own")
        for option, instead in _CREDENTIAL_OPTIONS.items():
            if option in self._session_options:
                raise ValueError(f"{owner}: session_options cannot set '{option}': aiohttp would send them to "
                                 f"any host a redirect leads to; {instead}")
        # Open between open() and close(): the session of each loop that used it, with
        # the guard that closes it when that loop shuts down. None: closed.
        self._pools: dict[asyncio.AbstractEventLoop, tuple[aiohttp.ClientSession, AsyncGenerator]] | None = None
        self._lock = threading.Lock()

    @property
    def headers(self) -> CIMultiDict[str]:
        """The headers of every request (changes apply to the next request)."""
        return self._headers

    @headers.setter
    def headers(self, headers: Any) -> None:
        # Errors never show a header's value: it may be a credential.
        try:
            parsed: CIMultiDict[str] = CIMultiDict(headers or {})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{self.owner}: invalid headers (a dict, a list of pairs or a multidict of "
                             f"str names and values): {type(exc).__name__}") from None
        for name, value in parsed.items():
            if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
                raise ValueError(f"{self.owner}: the value of header {str(name)!r} must be a str on one line "
                                 f"(its value is not shown)")
        self._headers = parsed

    @property
    def cacert(self) -> str | os.PathLike | None:
        """The PEM file of the certificate authorities trusted for https (``None``: the system's)."""
        return self._cacert

    @cacert.setter
    def cacert(self, cacert: str | os.PathLike | Literal[False] | None) -> None:
        self._ssl = _tls_setting(self.owner, cacert, self._verify)
        self._cacert = None if cacert is False else cacert

    def _request_headers(self) -> CIMultiDict[str]:
        headers = self._headers
        if self.content_type is None or "Content-Type" in headers:
            return headers
        headers = CIMultiDict(headers)
        headers["Content-Type"] = self.content_type
        return headers

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
            "connector": aiohttp.TCPConnector(),
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
        self, method: str, url: URL, data: Any = None
    ) -> Coroutine[Any, Any, tuple[aiohttp.ClientResponse, bytes]]:
        """Send one request and read its response: ``await`` it for ``(response, body)``.

        Between :meth:`open` and :meth:`close` the request goes through the pool; outside,
        through a session of its own (as databay 0.3 did for every request).

        :raises HttpStatusError: the status is 400 or more.
        :raises HttpRedirectError: a redirect was not followed.
        :raises HttpBodyTooLargeError: the body is larger than ``max_body_size``.
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
                return self._send(entry[0], method, url, data)
        return self._open_and_send(method, url, data)

    async def _open_and_send(self, method: str, url: URL, data: Any) -> tuple[aiohttp.ClientResponse, bytes]:
        session = await self._pooled_session(asyncio.get_running_loop())
        if session is None:  # the pool is closed: a session for this request alone
            async with self._new_session() as alone:
                return await self._send(alone, method, url, data)
        return await self._send(session, method, url, data)

    async def _send(
        self, session: aiohttp.ClientSession, method: str, url: URL, data: Any
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        headers = self._request_headers()
        if url.raw_user is not None:  # sent as basic authentication, a header like the others
            auth = aiohttp.BasicAuth.from_url(url)
            url = url.with_user(None)
            if auth is not None and "Authorization" not in headers:
                headers = CIMultiDict(headers)
                headers["Authorization"] = auth.encode()
        origin, asked, trusted = url, method, True
        for _ in range(MAX_REDIRECTS + 1):
            try:
                async with session.request(method, url, data=data, headers=headers if trusted else None,
                                           ssl=self._ssl, allow_redirects=False) as response:
                    location = response.headers.get("Location") if response.status in REDIRECT_STATUSES else None
                    if location is None:
                        body = await self._read(response, method, url)
                        break
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise self._failure(method, url, exc) from exc
            method, url, data, trusted = self._redirect(response, location, method, url, data, origin)
        else:
            raise HttpRedirectError(f"{self.owner}: {asked} {display(origin)} was redirected more than "
                                    f"{MAX_REDIRECTS} times in a row", asked, display(origin), response.status,
                                    display(url))
        if response.status >= 400:
            where = display(url)
            message = f"{self.owner}: {method} {where} returned {response.status} {response.reason}"
            if body:
                message += ": " + one_line_excerpt(body)
            raise HttpStatusError(message, method, where, response.status, response.reason or "",
                                  body[:BODY_EXCERPT])
        return response, body

    def _redirect(
        self, response: aiohttp.ClientResponse, location: str, method: str, url: URL, data: Any, origin: URL
    ) -> tuple[str, URL, Any, bool]:
        """The request a redirect leads to: ``(method, url, body, trusted)``, ``trusted`` when
        the configured headers and credentials go along; raises when it is not followed."""
        status, where = response.status, display(url)
        prefix = f"{self.owner}: {method} {where} returned {status} {response.reason}, a redirect"
        try:
            target = url.join(URL(location))
        except ValueError:
            target = None
        if target is None or target.scheme not in ("http", "https") or not target.host:
            raise HttpRedirectError(f"{prefix} to {location!r}, which is not an http(s) URL", method, where,
                                    status, location)
        if not self.redirects.follow:
            raise HttpRedirectError(f"{prefix} to {display(target)}, not followed (follow_redirects=False)",
                                    method, where, status, display(target))
        method, data = redirected_request(status, method, data)
        trusted = self.redirects.trusts(origin, target)
        if not trusted and data is not None:
            raise HttpRedirectError(
                f"{prefix} to {display(target)}, another origin than {origin.host}:{origin.port}: the request's "
                f"body and headers are not sent there. To send them, add '{target.host}:{target.port}' to "
                f"redirect_hosts", method, where, status, display(target))
        if not trusted:
            logging.getLogger(f"databay.{self.owner}").info(
                "%s %s redirected (%d) to %s, another origin: following without the configured headers",
                method, where, status, display(target))
        return method, target.with_user(None), data, trusted

    async def _read(self, response: aiohttp.ClientResponse, method: str, url: URL) -> bytes:
        """The response's body, at most ``max_body_size`` bytes (decompressed)."""
        limit = self.max_body_size
        if limit is None:  # read it all, keep the start
            kept = bytearray()
            async for chunk in response.content.iter_chunked(_CHUNK):
                if len(kept) < BODY_EXCERPT:
                    kept += chunk[: BODY_EXCERPT - len(kept)]
            return bytes(kept)
        length = response.content_length
        if length is not None and "Content-Encoding" not in response.headers:
            if length > limit:
                raise self._too_large(method, url, f"its Content-Length is {length:,} bytes")
            return await response.read()
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > limit:
                raise self._too_large(method, url, f"more than {_size(limit)} arrived")
        return bytes(body)

    def _too_large(self, method: str, url: URL, how: str) -> HttpBodyTooLargeError:
        where = display(url)
        limit = self.max_body_size
        assert limit is not None
        return HttpBodyTooLargeError(
            f"{self.owner}: {method} {where} returned a body larger than max_body_size={limit} ({_size(limit)}): "
            f"{how}; raise max_body_size to accept it", method, where, limit)

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

    A component calls :meth:`_set_up_requests` in its ``__init__``. ``url``, ``params``,
    ``headers`` and ``cacert`` can be changed later, as in databay 0.3: the next request
    uses them.
    """

    _owner: str
    _client: HttpClient

    def _set_up_requests(self, owner: str, url: str | URL, params: Any, method: str, **client_options: Any) -> None:
        """Check the request settings (``ValueError`` naming ``owner``) and make the client;
        ``client_options`` are :class:`HttpClient`'s."""
        self._owner = owner
        self._params = params
        self.url = url  # type: ignore[assignment]
        self._method = check_method(owner, method)
        self._client = HttpClient(owner, **client_options)

    @property
    def url(self) -> str:
        """The URL requested, as given (without ``params`` and without credentials); for an
        outlet, the one records go to unless their metadata names another."""
        return display(self._given_url)

    @url.setter
    def url(self, url: str | URL) -> None:
        self._url = parse_url(self._owner, url, self._params)
        self._given_url = URL(url)
        self._display = display(self._url)

    @property
    def params(self) -> Any:
        """Query parameters added to ``url`` (a dict or a list of pairs), or ``None``."""
        return self._params

    @params.setter
    def params(self, params: Any) -> None:
        self._url = parse_url(self._owner, self._given_url, params)
        self._params = params
        self._display = display(self._url)

    @property
    def headers(self) -> CIMultiDict[str]:
        """The headers of the requests (a case-insensitive multidict; changes apply to the next request)."""
        return self._client.headers

    @headers.setter
    def headers(self, headers: Any) -> None:
        self._client.headers = headers

    @property
    def cacert(self) -> str | os.PathLike | None:
        """The PEM file of the certificate authorities trusted for https, or ``None`` (the system's)."""
        return self._client.cacert

    @cacert.setter
    def cacert(self, cacert: str | os.PathLike | None) -> None:
        self._client.cacert = cacert

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


def _tls_setting(owner: str, cacert: str | os.PathLike | Literal[False] | None, verify: bool) -> ssl.SSLContext | bool:
    """aiohttp's ``ssl`` argument: ``True`` (the system's trust), a context trusting
    ``cacert``, or ``False`` (no verification). ``cacert=False`` means ``None``, as in databay 0.3."""
    if cacert is False:
        cacert = None
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
