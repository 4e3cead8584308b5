"""Exceptions of databay-http (importing them does not import aiohttp).

Every failure of a request is an :class:`HttpError` whose message names the component, the
method and the URL (without credentials) and what happened, e.g.
``HttpInlet: GET http://127.0.0.1:8123/x returned 500 Internal Server Error``.
"""

from __future__ import annotations


class HttpError(Exception):
    """Base class of the errors of :class:`HttpInlet` and :class:`HttpOutlet` requests.

    :ivar method: the request's method, e.g. ``'GET'``.
    :ivar url: the request's URL, without credentials.
    """

    def __init__(self, message: str, method: str, url: str):
        super().__init__(message)
        self.method = method
        self.url = url

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
