"""One session per component, reused from one push (or pull) to the next: :class:`Connection`.

Logging in costs several round trips (and a TLS or SSH handshake), so a component keeps
its session open between uses, within bounds:

- at most one session per component, used by one push or pull at a time;
- a session unused for ``idle_timeout`` seconds is closed and a new one opened, since
  servers drop idle connections (often after a few minutes) and a stale one would only
  fail;
- a reused session that turns out to be dead (the server closed it meanwhile) is
  replaced once, and the operation run again on the new one; the operations given to
  :meth:`Connection.run` can be repeated safely (uploads go to stable names);
- a session that failed with a connection error is closed, never reused;
- :meth:`Connection.close` (the component's ``on_shutdown``) logs out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from databay_ftp.endpoint import Endpoint
from databay_ftp.errors import FtpConnectionError
from databay_ftp.remote import RemoteSession, open_session

_LOGGER = logging.getLogger("databay.ftp")

T = TypeVar("T")


class Connection:
    """The session of one component to one endpoint, opened when first needed.

    :param endpoint: where to connect.
    :param owner: the component's name, for error messages.
    :param idle_timeout: seconds after which an unused session is replaced by a new one.
    :raises ValueError: ``idle_timeout`` is not a number >= 0.
    """

    def __init__(self, endpoint: Endpoint, owner: str, idle_timeout: float):
        if isinstance(idle_timeout, bool) or not isinstance(idle_timeout, int | float) or idle_timeout < 0:
            raise ValueError(f"{owner}: idle_timeout must be a number of seconds >= 0, got {idle_timeout!r}")
        self.endpoint = endpoint
        self.owner = owner
        self.idle_timeout = float(idle_timeout)
        self._session: RemoteSession | None = None
        self._last_used = 0.0
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        """Whether a session is open (it may still have been closed by the server)."""
        return self._session is not None

    def run(self, operation: Callable[[RemoteSession], T]) -> T:
        """``operation(session)`` on this component's session, opening one if needed.

        :raises FtpError: what the operation or the login raised.
        """
        with self._lock:
            session, reused = self._session_to_use()
            try:
                result = operation(session)
            except FtpConnectionError as exc:
                self._discard()
                if not reused:
                    raise
                _LOGGER.debug("%s: the open connection to %s failed (%s); opening a new one", self.owner,
                              self.endpoint.display, exc)
                session = self._open()
                try:
                    result = operation(session)
                except FtpConnectionError:
                    self._discard()
                    raise
            self._last_used = time.monotonic()
            return result

    def close(self) -> None:
        """Log out and close the session, if one is open."""
        with self._lock:
            self._discard()

    def _session_to_use(self) -> tuple[RemoteSession, bool]:
        """The open session if it is fresh enough (``True``: reused), else a new one (``False``)."""
        if self._session is not None:
            if time.monotonic() - self._last_used <= self.idle_timeout:
                return self._session, True
            self._discard()
        return self._open(), False

    def _open(self) -> RemoteSession:
        self._session = open_session(self.endpoint, self.owner)
        return self._session

    def _discard(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()
