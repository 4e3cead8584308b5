"""The :class:`HttpInlet`: pulls data from a URL, as JSON or as text."""

from __future__ import annotations

import codecs
import json as jsonlib
import logging
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import ClientResponse
from aiohttp.typedefs import LooseHeaders
from databay import Inlet

from databay_http.client import BODY_EXCERPT, DEFAULT_MAX_BODY_SIZE, HttpClient, HttpComponent, excerpt
from databay_http.errors import HttpDecodeError

if TYPE_CHECKING:
    from databay import Update

__all__ = ["HttpInlet"]

_LOGGER = logging.getLogger("databay.HttpInlet")


class HttpInlet(HttpComponent, Inlet):
    """Inlet for pulling data from a specified URL using aiohttp.

    Each pull sends one request (``GET`` unless ``method`` says otherwise) and reads the
    response, at most ``max_body_size`` bytes of it. With ``json=True`` the body is parsed as
    JSON: a list produces one record per element, anything else one record; an empty body
    produces no record. With ``json=False`` the body's text (decoded in its charset) is one
    record.

    As in databay 0.3, ``url``, ``json``, ``params``, ``headers`` and ``cacert`` are
    attributes, and changing one changes the next pull.

    The inlet keeps one connection pool (an ``aiohttp.ClientSession``) for its whole life:
    opened on start, on the event loop that runs its pulls, reused by every pull (so its
    connection is kept alive between pulls), closed on shutdown.

    :param url: URL that should be queried for data.
    :param json: Whether response should be parsed as JSON.
    :param cacert: Path to a PEM bundle of the certificate authorities to trust for https,
        instead of the system's (e.g. a company's private CA). ``None`` (or ``False``, as
        databay 0.3 allowed): the system's.
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
        ``trust_env=True``); they win over the settings above. Not ``connector``,
        ``headers``, ``auth`` or ``cookies``: pass credentials in ``headers`` or the URL.
    :param follow_redirects: Follow redirects (at most 10 in a row). The headers, the URL's
        credentials and the body go along only to the URL's own origin (and from http to
        https on the same host) or to ``redirect_hosts``; a redirect elsewhere is followed
        without them, or refused when it would re-send the body. ``False``: a redirect
        raises :class:`~databay_http.errors.HttpRedirectError`.
    :param redirect_hosts: Host names (``'cdn.example.org'``) or ``'host:port'`` that
        redirects may take the headers, credentials and body to.
    :param max_body_size: Bytes of a response body read at most, after decompression
        (default 64 MiB); a larger body raises
        :class:`~databay_http.errors.HttpBodyTooLargeError` without being read further.

    Remaining arguments (``metadata``) go to :class:`~databay.inlet.Inlet`.

    Errors, all subclasses of :class:`~databay_http.errors.HttpError` naming the method and
    URL: :class:`~databay_http.errors.HttpStatusError` for a 4xx/5xx response,
    :class:`~databay_http.errors.HttpConnectionError` when the server cannot be reached,
    :class:`~databay_http.errors.HttpTimeoutError`,
    :class:`~databay_http.errors.HttpRedirectError`,
    :class:`~databay_http.errors.HttpBodyTooLargeError`, and
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
        follow_redirects: bool = True,
        redirect_hosts: Iterable[str] = (),
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        if max_body_size is None:
            raise ValueError("HttpInlet: max_body_size must be a positive number of bytes, got None")
        self._set_up_requests("HttpInlet", url, params, method, headers=headers, timeout=timeout,
                              connect_timeout=connect_timeout, cacert=cacert, verify=verify,
                              session_options=session_options, follow_redirects=follow_redirects,
                              redirect_hosts=redirect_hosts, max_body_size=max_body_size)
        self.json = json
        self._body = _request_body(body, json_body, self._client)

    async def pull(self, update: Update) -> Any:
        """Asynchronously pulls data from the specified URL using aiohttp.

        :param update: Update object representing the particular Link transfer.
        :returns: the parsed JSON (a list produces one record per element), ``[]`` for
            an empty body, or the body's text with ``json=False``.
        """
        display, method, as_json = self._display, self._method, self.json
        _LOGGER.info("%s pulling %s", update, display)
        response, body = await self._client.request(method, self._url, self._body)
        _LOGGER.info("%s received %s", update, display)
        if not body:
            _LOGGER.info("%s no results %s", update, display)
            return []
        try:
            if as_json:
                return jsonlib.loads(body)
            return body.decode(_charset(response))
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            kind = "JSON" if as_json else "text"
            content_type = response.headers.get("Content-Type", "none")
            raise HttpDecodeError(
                f"HttpInlet: {method} {display} returned a body that is not valid {kind} "
                f"({exc}; Content-Type: {content_type}); the body starts: {excerpt(body)!r}",
                method, display, body[:BODY_EXCERPT]) from exc


def _charset(response: ClientResponse) -> str:
    """The charset the response's ``Content-Type`` names, if Python knows it; else UTF-8."""
    charset = response.charset
    if charset:
        try:
            return codecs.lookup(charset).name
        except LookupError:
            pass
    return "utf-8"


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
    client.content_type = "application/json"
    return encoded
