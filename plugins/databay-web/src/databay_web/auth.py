"""Who is asking: logins with sessions, a bearer token for scripts, CSRF tokens for forms.

- **Sessions** live in the server's memory (:class:`Sessions`): a login gets a random
  session id in a cookie that is ``HttpOnly``, ``SameSite=Strict``, ``Path=/`` and, over
  HTTPS, ``Secure``; it lasts ``session_hours``. At most :data:`MAX_SESSIONS` are kept
  (the oldest go first); logging out or restarting ends them.
- **Passwords** are checked against scrypt hashes (:mod:`databay_web.passwords`) in a
  thread, never on the event loop; at most :data:`MAX_FAILURES` failed logins per client
  address in :data:`FAILURE_WINDOW` seconds, then 429 until the window passes.
- **The bearer token** (``Authorization: Bearer ...``) is compared in constant time; a
  request carrying it needs no CSRF token (no browser sends it by itself).
- **CSRF**: every form that changes something carries the session's CSRF token (the login
  form a token of its own, in a cookie), and a request whose ``Origin`` is not this server
  is refused.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from databay_web.passwords import verify_password
from databay_web.settings import WebSettings

SESSION_COOKIE = "databay_session"
LOGIN_COOKIE = "databay_login"
MAX_SESSIONS = 1000
MAX_FAILURES = 5
FAILURE_WINDOW = 60.0
_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


@dataclass
class Session:
    """A logged-in user's session."""

    user: str
    csrf: str
    expires: float
    flash: str | None = None
    """What the last action did, shown once on the next page."""


@dataclass(frozen=True)
class Identity:
    """Who made a request: a user (by session) or a script (by token)."""

    name: str
    by_token: bool = False


@dataclass
class Sessions:
    """The sessions of logged-in users, bounded (see the module's docs)."""

    lifetime: float
    _sessions: OrderedDict[str, Session] = field(default_factory=OrderedDict)

    def new(self, user: str) -> tuple[str, Session]:
        while len(self._sessions) >= MAX_SESSIONS:
            self._sessions.popitem(last=False)
        session_id = secrets.token_urlsafe(32)
        session = self._sessions[session_id] = Session(user, secrets.token_urlsafe(32), time.time() + self.lifetime)
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        session = self._sessions.get(session_id) if session_id else None
        if session is not None and session.expires < time.time():
            del self._sessions[session_id]  # type: ignore[arg-type]
            return None
        return session

    def end(self, session_id: str | None) -> None:
        if session_id:
            self._sessions.pop(session_id, None)


class Auth:
    """Authentication and CSRF checks for the server (see the module's docs)."""

    def __init__(self, settings: WebSettings):
        self.settings = settings
        self.sessions = Sessions(settings.session_seconds)
        self._failures: dict[str, deque[float]] = {}

    @property
    def enabled(self) -> bool:
        return self.settings.auth_configured

    @property
    def secure_cookies(self) -> bool:
        return self.settings.scheme == "https"

    def identify(self, request: Any) -> tuple[Identity | None, Session | None]:
        """Who ``request`` comes from: by its bearer token, or by its session cookie."""
        header = request.headers.get("Authorization", "")
        token = self.settings.token
        if header.startswith("Bearer ") and token:
            given = header[len("Bearer "):].strip()
            if hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
                return Identity("token", by_token=True), None
            return None, None
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        return (Identity(session.user), session) if session else (None, None)

    def throttled(self, client: str) -> bool:
        """Whether ``client`` failed to log in too often lately."""
        failures = self._failures.get(client)
        now = time.monotonic()
        while failures and failures[0] < now - FAILURE_WINDOW:
            failures.popleft()
        if failures is not None and not failures:
            del self._failures[client]
        return bool(failures) and len(failures) >= MAX_FAILURES  # type: ignore[arg-type]

    async def check_password(self, client: str, user: str, password: str) -> bool:
        """Whether ``user`` logs in with ``password`` (a failure counts against ``client``).
        An unknown user costs as much time as a known one."""
        hashed = self.settings.users.get(user)
        ok = await asyncio.get_running_loop().run_in_executor(
            None, verify_password, password, hashed or _DUMMY_HASH)
        ok = ok and hashed is not None
        if not ok:
            if len(self._failures) >= MAX_SESSIONS and client not in self._failures:
                self._failures.pop(next(iter(self._failures)))
            self._failures.setdefault(client, deque(maxlen=MAX_FAILURES)).append(time.monotonic())
        return ok


def same_token(given: Any, expected: str | None) -> bool:
    """Whether the CSRF token ``given`` (a form field) is ``expected``, in constant time."""
    return isinstance(given, str) and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())  # type: ignore[union-attr]
