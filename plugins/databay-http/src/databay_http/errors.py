"""Exceptions of databay-http (importing them does not import aiohttp).

Every failure of a request is an :class:`HttpError` whose message names the component, the
method and the URL (without credentials) and what happened, e.g.
``HttpInlet: GET http://127.0.0.1:8123/x returned 500 Internal Server Error``. Registered
secrets (``databay.redaction``, e.g. an API key given as ``${API_KEY}`` in a query) are
redacted from the message and the URL; header values never appear.
"""

from __future__ import annotations

from databay.redaction import redact


class HttpError(Exception):
    """Base class of the errors of :class:`HttpInlet` and :class:`HttpOutlet` requests.

    :ivar method: the request's method, e.g. ``'GET'``.
    :ivar url: the request's URL, without credentials.
    """

    def __init__(self, message: str, method: str, url: str):
        super().__init__(redact(message))
        self.method = method
        self.url = redact(url)

    def __reduce__(self):
        # Picklable (e.g. to cross a process boundary) despite the extra constructor arguments.
        return _rebuild, (type(self), str(self), self.__dict__)


class HttpStatusError(HttpError):
    """The server answered with a 4xx or 5xx status.

    :ivar status: the status code, e.g. ``500``.
    :ivar reason: the status's reason phrase, e.g. ``'Internal Server Error'``.
    :ivar body: the start of the response's body (at most 1,000 bytes).
    """

    def __init__(self, message: str, method: str, url: str, status: int, reason: str, body: bytes):
        super().__init__(message, method, url)
        self.status = status
        self.reason = reason
        self.body = body


class HttpConnectionError(HttpError, ConnectionError):
    """The server could not be reached (refused connection, unknown host, connection
    dropped before a complete response)."""


class HttpTLSError(HttpConnectionError):
    """The TLS handshake failed, e.g. the server's certificate is not trusted."""


class HttpTimeoutError(HttpError, TimeoutError):
    """No connection (``connect_timeout``) or no complete response (``timeout``) in time."""


class HttpRedirectError(HttpError):
    """A redirect was not followed: ``follow_redirects=False``, a redirect that would take the
    request's body to another origin (see ``redirect_hosts``), one to a URL that is not
    http(s), or more than ten in a row.

    :ivar status: the status of the redirect, e.g. ``307``.
    :ivar location: where it pointed (without credentials).
    """

    def __init__(self, message: str, method: str, url: str, status: int, location: str):
        super().__init__(message, method, url)
        self.status = status
        self.location = redact(location)


class HttpBodyTooLargeError(HttpError):
    """A response body is larger than the component's ``max_body_size``.

    :ivar limit: that limit, in bytes.
    """

    def __init__(self, message: str, method: str, url: str, limit: int):
        super().__init__(message, method, url)
        self.limit = limit


class HttpDecodeError(HttpError, ValueError):
    """A response body is not valid JSON (with ``json=False``: not text in its charset).

    A ``ValueError``, as databay 0.3 raised for invalid JSON.

    :ivar body: the start of the body (at most 1,000 bytes).
    """

    def __init__(self, message: str, method: str, url: str, body: bytes):
        super().__init__(message, method, url)
        self.body = body


def _rebuild(cls: type[HttpError], message: str, state: dict) -> HttpError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error
