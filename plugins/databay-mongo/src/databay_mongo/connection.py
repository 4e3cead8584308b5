"""Where a MongoDB component connects, and how a client is opened and its failures reported.

Shared by :class:`~databay_mongo.outlet.MongoOutlet` and :class:`~databay_mongo.inlet.MongoInlet`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pymongo
from pymongo.errors import ConfigurationError, ConnectionFailure, InvalidURI, PyMongoError

from databay_mongo.errors import MongoConnectionError, MongoOperationError

URI_SCHEMES = ("mongodb://", "mongodb+srv://")
DEFAULT_HOST = "localhost"
DEFAULT_PORT = 27017
_ADDRESS_PREFIX = re.compile(r"^\S+:\d+: ")  # pymongo starts messages with the address we already name


@dataclass(frozen=True)
class ServerSpec:
    """How to reach a MongoDB server: ``host``/``port`` or a connection ``uri``, plus timeouts.

    Build it with :meth:`from_arguments`, which validates the arguments.
    """

    host: str | None
    port: int | None
    uri: str | None
    timeout: float
    socket_timeout: float | None
    client_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_arguments(
        cls,
        owner: str,
        host: str | None,
        port: int | str | None,
        uri: str | None,
        timeout: float,
        socket_timeout: float | None,
        client_options: Mapping[str, Any] | None,
    ) -> ServerSpec:
        """Validate a component's connection arguments; ``owner`` names it in errors.

        ``host`` may itself be a connection URI (``mongodb://...``), as with ``MongoClient``.
        """
        if host is not None and not isinstance(host, str):
            raise TypeError(f"{owner}: host must be a string, got {type(host).__name__} {host!r}")
        if host is not None and host.startswith(URI_SCHEMES):
            if uri is not None:
                raise ValueError(f"{owner}: give the connection URI either as host or as uri, not both")
            host, uri = None, host
        if uri is not None:
            if not isinstance(uri, str) or not uri.startswith(URI_SCHEMES):
                raise ValueError(f"{owner}: uri must start with 'mongodb://' or 'mongodb+srv://', got {uri!r}")
            if host is not None:
                raise ValueError(f"{owner}: give either host or uri, not both (host={host!r})")
        if port is not None:
            try:
                port = int(port)
            except (TypeError, ValueError):
                raise ValueError(f"{owner}: port must be an integer, got {port!r}") from None
            if not 0 < port < 65536:
                raise ValueError(f"{owner}: port must be between 1 and 65535, got {port}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ValueError(f"{owner}: timeout must be a positive number of seconds, got {timeout!r}")
        if socket_timeout is not None and (
            isinstance(socket_timeout, bool) or not isinstance(socket_timeout, int | float) or socket_timeout <= 0
        ):
            raise ValueError(f"{owner}: socket_timeout must be a positive number of seconds or None, "
                             f"got {socket_timeout!r}")
        if client_options is not None and not isinstance(client_options, Mapping):
            raise TypeError(f"{owner}: client_options must be a mapping of MongoClient options, "
                            f"got {type(client_options).__name__}")
        return cls(host, port, uri, float(timeout), socket_timeout, dict(client_options or {}))

    @property
    def address(self) -> str:
        """``host:port`` (or several, comma separated) of the server, without credentials."""
        if self.uri is None:
            return f"{self.host or DEFAULT_HOST}:{self.port or DEFAULT_PORT}"
        rest = self.uri.split("://", 1)[1]
        hosts = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
        if self.uri.startswith("mongodb+srv://"):
            return hosts
        default_port = self.port or DEFAULT_PORT
        return ",".join(_with_port(h, default_port) for h in hosts.split(","))

    def open_client(self, owner: str) -> pymongo.MongoClient:
        """A connected ``MongoClient``: the server has answered a ping.

        :raises MongoConnectionError: the server is unreachable within ``timeout``.
        """
        options: dict[str, Any] = {
            "serverSelectionTimeoutMS": int(self.timeout * 1000),
            "connectTimeoutMS": int(self.timeout * 1000),
            "socketTimeoutMS": None if self.socket_timeout is None else int(self.socket_timeout * 1000),
            "appname": "databay",
        }
        options.update(self.client_options)
        try:
            if self.uri is not None:
                client: pymongo.MongoClient = pymongo.MongoClient(self.uri, port=self.port, **options)
            else:
                client = pymongo.MongoClient(host=self.host, port=self.port, **options)
        except (InvalidURI, ConfigurationError) as exc:
            raise ValueError(f"{owner}: invalid MongoDB connection settings for {self.address}: {exc}") from None
        try:
            client.admin.command("ping")
        except PyMongoError as exc:
            client.close()
            raise self.error(owner, "cannot connect", exc) from exc
        return client

    def error(self, owner: str, doing: str, exc: PyMongoError, namespace: str | None = None) -> Exception:
        """Translate a pymongo error into one clear error naming the server (and namespace)."""
        where = f"MongoDB at {self.address}" + (f" ({namespace})" if namespace else "")
        if isinstance(exc, ConnectionFailure):
            return MongoConnectionError(f"{owner} {doing}: {where} is unreachable: {short_reason(exc)}")
        return MongoOperationError(f"{owner} {doing}: {where} refused it: {short_reason(exc)}")


def _with_port(host: str, default_port: int) -> str:
    if host.startswith("["):  # an IPv6 literal: [::1] or [::1]:27017
        return host if "]:" in host else f"{host}:{default_port}"
    return host if ":" in host else f"{host}:{default_port}"


def short_reason(exc: PyMongoError) -> str:
    """The useful head of a pymongo error message (without the topology dump)."""
    details = getattr(exc, "details", None)
    if isinstance(details, Mapping):
        write_errors = details.get("writeErrors")
        if write_errors:
            first = write_errors[0]
            return (f"{len(write_errors)} write error(s), first at document {first.get('index')}: "
                    f"{first.get('errmsg')}; {details.get('nInserted', 0)} document(s) were inserted")
    text = _ADDRESS_PREFIX.sub("", str(exc), count=1)
    for marker in (", Timeout:", " (configured timeouts:", ", full error:"):
        text = text.split(marker, 1)[0]
    return text or type(exc).__name__
