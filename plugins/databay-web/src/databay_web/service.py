"""The ``web`` service: the dashboard, JSON API, metrics and health checks beside a running pipeline.

This module stays light (databay reads the class's option at every start); the server and
its libraries are imported when the service prepares.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING, Any

from databay.errors import ServiceError
from databay.service import Service

from databay_web.settings import DEFAULT_HOST, DEFAULT_PORT, WebSettings

if TYPE_CHECKING:
    from databay.pipeline import Pipeline

    from databay_web.server import WebServer


class WebService(Service):
    """Serves the dashboard, the JSON API (``/api/...``), ``/metrics`` and ``/healthz``,
    ``/readyz`` while the pipeline runs, on its planner's event loop.

    :param listen: ``HOST:PORT`` (``PORT`` alone: on 127.0.0.1; port 0: any free port).
        An address other machines can reach is refused unless authentication is set.
    :param users_file: a file of ``name:hash`` lines (hashes from ``databay web
        --hash-password``); users in ``$DATABAY_WEB_USERS`` are added.
    :param token: a bearer token for scripts (``Authorization: Bearer ...``); give it as
        ``"${DATABAY_WEB_TOKEN}"`` so that it stays out of the file and of every output.
    :param login_required: viewing needs a login too; by default only off loopback
        addresses (actions always need one).
    :param debug: show tracebacks of failed transfers (also with ``databay --debug``).
    :param unready_after: ``/readyz`` answers 503 once a link has been failing for this
        many seconds.
    :param tls_cert: serve HTTPS with this certificate (PEM) and ``tls_key``.
    :param tls_key: the certificate's private key (PEM).
    :param session_hours: how long a login lasts.
    """

    option = "listen"
    option_metavar = "HOST:PORT"
    option_help = (f"Serve the web dashboard, JSON API and metrics on HOST:PORT while the pipeline runs "
                   f"(host {DEFAULT_HOST} when left out).")

    def __init__(self, listen: str = f"{DEFAULT_HOST}:{DEFAULT_PORT}", users_file: str | None = None,
                 token: str | None = None, login_required: bool | None = None, debug: bool = False,
                 unready_after: float = 300.0, tls_cert: str | None = None, tls_key: str | None = None,
                 session_hours: float = 12.0):
        self.settings = WebSettings.make(listen, users_file, token, login_required, debug, unready_after,
                                         tls_cert, tls_key, session_hours)
        self._socket: socket.socket | None = None
        self._server: WebServer | None = None
        self._monitor: Any = None

    @property
    def url(self) -> str:
        """Where it serves (with the real port once prepared, when the port was 0)."""
        if self._server is not None:
            return self._server.url
        address = self.settings.address
        if self._socket is not None:
            address = type(address)(address.host, self._socket.getsockname()[1])
        return address.url(self.settings.scheme)

    def prepare(self, pipeline: Pipeline) -> None:
        """Take the port (so that a port in use stops the run before any transfer) and
        start watching the pipeline's transfers.

        :raises ServiceError: the address cannot be listened on.
        """
        from databay.observers import add_observer

        from databay_web.monitor import Monitor

        super().prepare(pipeline)
        self._socket = listening_socket(self.settings)
        if self.debug and not self.settings.debug:
            from dataclasses import replace

            self.settings = replace(self.settings, debug=True)
        self._monitor = Monitor(pipeline, tracebacks=self.settings.debug)
        add_observer(self._monitor)
        self._monitor.start_logging()

    async def start(self) -> None:
        from databay_web.server import WebServer

        assert self.pipeline is not None and self._socket is not None  # prepared
        server = WebServer(self.settings, self.pipeline.spec, self._monitor)
        await server.start(self._socket)
        self._server, self._socket = server, None  # the server owns the socket now
        self._monitor.start_folding(asyncio.get_running_loop())
        # databay run's progress logger: shown by default
        logging.getLogger("databay.run").info("Dashboard at %s (metrics at %smetrics)",
                                              self._server.url, self._server.url)

    async def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.stop_folding()
        if self._server is not None:
            await self._server.stop()
            self._server = None

    def close(self) -> None:
        from databay.observers import remove_observer

        if self._monitor is not None:
            self._monitor.stop_logging()
            remove_observer(self._monitor)
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def listening_socket(settings: WebSettings) -> socket.socket:
    """A socket listening on the settings' address.

    :raises ServiceError: it cannot be had, with the reason (in use, no permission...).
    """
    address = settings.address
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    try:
        return socket.create_server((address.host, address.port), family=family, backlog=128)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        hint = " (another process listens there: choose another port)" if exc.errno == 98 else ""
        raise ServiceError(f"web: cannot listen on {address}: {reason}{hint}") from None
