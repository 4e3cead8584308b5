"""The :class:`HttpInlet`: pulls data from a URL, as JSON or as text."""

from __future__ import annotations

import json as jsonlib
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp.typedefs import LooseHeaders
from databay import Inlet

from databay_http.client import BODY_EXCERPT, HttpClient, HttpComponent, excerpt
from databay_http.errors import HttpDecodeError

if TYPE_CHECKING:
    from databay import Update

__all__ = ["HttpInlet"]

_LOGGER = logging.getLogger("databay.HttpInlet")


class HttpInlet(HttpComponent, Inlet):
    """Inlet for pulling data from a specified URL using aiohttp.

    Each pull sends one request (``GET`` unless ``method`` says otherwise) and reads the
    whole response. With ``json=True`` the body is parsed as JSON: a list produces one
    record per element, anything else one record; an empty body produces no record. With
    ``json=False`` the body's text (decoded in its charset) is one record.

    The inlet keeps one connection pool (an ``aiohttp.ClientSession``) for its whole life:
    opened on start, on the event loop that runs its pulls, reused by every pull (so its
    connection is kept alive between pulls), closed on shutdown.

    :param url: URL that should be queried for data.
    :param json: Whether response should be parsed as JSON.
    :param cacert: Path to a PEM bundle of the certificate authorities to trust for https,
        instead of the system's (e.g. a company's private CA).
    :param params: Parameters for the request, added to the URL's query.
    :param headers: Headers for the request.
    :param method: HTTP method of the request.
    :param body: Body of the request: ``bytes``, or ``str`` (sent as UTF-8).
    :param json_body: Body of the request as a JSON-serialisable value, sent as JSON
        (``Content-Type: application/json`` unless ``headers`` set one). Not with ``body``.
    :param timeout: Seconds a whole request (connecting, sending, receiving) may take.
    :param connect_timeout: Seconds connecting (and the TLS handshake) may take.
    :param verify: Verify the server's certificate for https. ``False`` accepts any
        certificate: only for servers you trust on a network you trust.
    :param session_options: Further ``aiohttp.ClientSession`` keyword arguments (e.g.
        ``cookies``, ``trust_env=True``); they win over the settings above.

    Remaining arguments (``metadata``) go to :class:`~databay.inlet.Inlet`.

    Errors, all subclasses of :class:`~databay_http.errors.HttpError` naming the method and
    URL: :class:`~databay_http.errors.HttpStatusError` for a 4xx/5xx response,
    :class:`~databay_http.errors.HttpConnectionError` when the server cannot be reached,
    :class:`~databay_http.errors.HttpTimeoutError`, and
    :class:`~databay_http.errors.HttpDecodeError` (a ``ValueError``) for a body that is not
    valid JSON, showing the start of the body.
    """

    def __init__(
        self,
        url: str,
        json: bool = True,
        cacert: str | os.PathLike | None = None,
        params: Mapping[str, Any] | None = None,
        headers: LooseHeaders | None = None,
        *args: Any,
        method: str = "GET",
        body: bytes | str | None = None,
        json_body: Any = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        verify: bool = True,
        session_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self._set_up_requests("HttpInlet", url, params, method, headers, timeout, connect_timeout, cacert, verify,
                              session_options)
        self._json = json
        self._body = _request_body(body, json_body, self._client)

    async def pull(self, update: Update) -> Any:
        """Asynchronously pulls data from the specified URL using aiohttp.

        :param update: Update object representing the particular Link transfer.
        :returns: the parsed JSON (a list produces one record per element), ``[]`` for
            an empty body, or the body's text with ``json=False``.
        """
        _LOGGER.info("%s pulling %s", update, self._display)
        response, body = await self._client.request(self._method, self._url, self._body)
        _LOGGER.info("%s received %s", update, self._display)
        if not body:
            return []
        try:
            if self._json:
                return jsonlib.loads(body)
            return body.decode(response.get_encoding())
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            kind = "JSON" if self._json else "text"
            content_type = response.headers.get("Content-Type", "none")
            raise HttpDecodeError(
                f"HttpInlet: {self._method} {self._display} returned a body that is not valid {kind} "
                f"({exc}; Content-Type: {content_type}); the body starts: {excerpt(body)!r}",
                self._method, self._display, body[:BODY_EXCERPT]) from exc


def _request_body(body: bytes | str | None, json_body: Any, client: HttpClient) -> bytes | str | None:
    """What to send as the request's body; sets the JSON content type for ``json_body``."""
    if json_body is None:
        if body is not None and not isinstance(body, (bytes, str)):
            raise TypeError(f"HttpInlet: body must be bytes or str, got {type(body).__name__}; "
                            f"use json_body= to send a value as JSON")
        return body
    if body is not None:
        raise ValueError("HttpInlet: pass body or json_body, not both")
    try:
        encoded = jsonlib.dumps(json_body, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise TypeError(f"HttpInlet: json_body cannot be sent as JSON: {exc}") from exc
    client.headers.setdefault("Content-Type", "application/json")
    return encoded
