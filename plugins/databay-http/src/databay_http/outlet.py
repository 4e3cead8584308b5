"""The :class:`HttpOutlet`: sends records to a URL as JSON."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp.typedefs import LooseHeaders
from databay import MetadataKey, Outlet, Processor
from databay.printable import describe_record
from yarl import URL

from databay_http.client import HttpComponent, display, parse_url
from databay_http.errors import HttpError

if TYPE_CHECKING:
    from databay import Record, Update

__all__ = ["HttpOutlet"]

_LOGGER = logging.getLogger("databay.HttpOutlet")


class HttpOutlet(HttpComponent, Outlet):
    """Outlet sending the payloads of records to a URL as JSON.

    By default each push sends one request per URL: a JSON array of the payloads of the
    push's records, in their order. With ``per_record=True`` each record is sent on its
    own, its payload as the JSON body, one request after the other in the records' order.
    A record's :attr:`URL` metadata sends it to another URL than ``url``.

    The outlet keeps one connection pool (an ``aiohttp.ClientSession``) for its whole life,
    opened on start and closed on shutdown, like :class:`~databay_http.inlet.HttpInlet`.

    :param url: URL the records are sent to (unless their metadata names another).
    :param method: HTTP method of the requests.
    :param per_record: one request per record instead of one per push.
    :param headers: Headers of the requests (``Content-Type: application/json`` unless
        they set one).
    :param params: Parameters added to the query of ``url``.
    :param cacert: Path to a PEM bundle of the certificate authorities to trust for https,
        instead of the system's.
    :param verify: Verify the server's certificate for https; ``False`` accepts any.
    :param timeout: Seconds a whole request may take.
    :param connect_timeout: Seconds connecting (and the TLS handshake) may take.
    :param session_options: Further ``aiohttp.ClientSession`` keyword arguments; they win
        over the settings above (not ``connector``, ``headers``, ``auth`` or ``cookies``).
    :param follow_redirects: Follow redirects (at most 10 in a row). The headers, the URL's
        credentials and the body go along only to the URL's own origin (and from http to
        https on the same host) or to ``redirect_hosts``: a 307 or 308 to another origin
        (which would re-send the records) raises
        :class:`~databay_http.errors.HttpRedirectError`. ``False``: every redirect does.
    :param redirect_hosts: Host names (``'ingest.example.org'``) or ``'host:port'`` that
        redirects may take the headers, credentials and records to.
    :param processors: Processors applied to the records this outlet receives.

    Errors are those of :class:`~databay_http.inlet.HttpInlet`; when some requests of a
    push were sent before one failed, the message says how many records were sent. A
    payload that JSON cannot represent (an object, ``NaN``) raises ``TypeError`` or
    ``ValueError`` naming the record, before anything of the push is sent.
    """

    URL: MetadataKey = "HttpOutlet.URL"
    """URL to send the record to, instead of the outlet's ``url``."""

    def __init__(
        self,
        url: str,
        *,
        method: str = "POST",
        per_record: bool = False,
        headers: LooseHeaders | None = None,
        params: Mapping[str, Any] | None = None,
        cacert: str | os.PathLike | None = None,
        verify: bool = True,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        session_options: Mapping[str, Any] | None = None,
        follow_redirects: bool = True,
        redirect_hosts: Iterable[str] = (),
        processors: Processor | list[Processor] | None = None,
    ):
        super().__init__(processors)
        # max_body_size=None: the response is read and dropped, but for the start errors show.
        self._set_up_requests("HttpOutlet", url, params, method, headers=headers, timeout=timeout,
                              connect_timeout=connect_timeout, cacert=cacert, verify=verify,
                              session_options=session_options, follow_redirects=follow_redirects,
                              redirect_hosts=redirect_hosts, max_body_size=None, content_type="application/json")
        self.per_record = per_record

    async def push(self, records: list[Record], update: Update) -> None:
        """Send the records' payloads as JSON.

        :param records: Records to send.
        :param update: Update object representing the particular Link transfer.
        """
        if not records:
            return
        requests = self._requests(records)
        sent = 0
        for url, count, body in requests:
            where = display(url)
            _LOGGER.info("%s sending %d record(s) to %s", update, count, where)
            try:
                await self._client.request(self._method, url, body)
            except HttpError as exc:
                if sent:
                    exc.args = (f"{exc} ({sent} of the push's {len(records)} records were sent before)",)
                raise
            sent += count
            _LOGGER.info("%s sent %d record(s) to %s", update, count, where)

    def _requests(self, records: list[Record]) -> list[tuple[URL, int, bytes]]:
        """``(url, number of records, body)`` of each request of a push, in order.

        Encodes everything first, so that a bad record stops the push before anything is sent.
        """
        key = self.URL
        if self.per_record:
            return [(self._target(record.metadata.get(key), index, record), 1,
                     _encode(record.payload, records, [index]))
                    for index, record in enumerate(records)]
        groups: dict[str | None, list[int]] = {}
        for index, record in enumerate(records):
            url = record.metadata.get(key)
            if url is not None and type(url) is not str:
                self._target(url, index, record)  # raises
            groups.setdefault(url, []).append(index)
        return [(self._target(url, indices[0], records[indices[0]]), len(indices),
                 _encode([records[index].payload for index in indices], records, indices))
                for url, indices in groups.items()]

    def _target(self, url: Any, index: int, record: Record) -> URL:
        """The URL a record's metadata names (``None``: the outlet's)."""
        if url is None:
            return self._url
        where = f"HttpOutlet: {describe_record(record, index)}: metadata['{self.URL}']"
        if not isinstance(url, str):
            raise ValueError(f"{where} must be a str URL, got {type(url).__name__} {url!r}")
        return parse_url(where, url)


def _encode(body: Any, records: list[Record], indices: list[int]) -> bytes:
    """``body`` (the payload of the record at ``indices``, or their payloads' array) as JSON."""
    try:
        return json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError):
        for index in indices:  # name the record JSON cannot represent
            try:
                json.dumps(records[index].payload, allow_nan=False)
            except (TypeError, ValueError) as error:
                raise type(error)(f"HttpOutlet cannot send {describe_record(records[index], index)} as JSON: "
                                  f"{error}") from error
        raise

