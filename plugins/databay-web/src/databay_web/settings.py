"""The web service's settings: where it listens and who may do what, checked when the
pipeline is built (before anything runs), with messages that say what to change."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from databay_web.passwords import check_hash

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
USERS_VARIABLE = "DATABAY_WEB_USERS"
"""Users given in the environment: ``name:hash`` entries, separated by newlines, spaces or commas."""


@dataclass(frozen=True)
class Address:
    """Where the server listens."""

    host: str
    port: int

    @property
    def loopback(self) -> bool:
        """Whether only this machine can connect (127.0.0.0/8, ::1, localhost)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:  # another host name: it may resolve to anything
            return False

    def url(self, scheme: str = "http") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}/"

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(text: str) -> Address:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (host 127.0.0.1), ``[::1]:PORT``; port 0 picks a free one.

    :raises ValueError: what is wrong, with an example.
    """
    if not isinstance(text, str):
        raise ValueError(f"listen: HOST:PORT such as 127.0.0.1:8080, not {text!r}")
    value = text.strip()
    host, port = DEFAULT_HOST, value
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or value[end + 1:end + 2] != ":":
            raise ValueError(f"listen: {text!r} is not [IPv6]:PORT such as [::1]:8080")
        host, port = value[1:end], value[end + 2:]
    elif ":" in value:
        host, _, port = value.rpartition(":")
        host = host or DEFAULT_HOST
        if ":" in host:
            raise ValueError(f"listen: write an IPv6 address in brackets, e.g. [::1]:8080, not {text!r}")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"listen: {text!r} has no port from 0 to 65535 (HOST:PORT such as 127.0.0.1:8080)")
    return Address(host, int(port))


def read_users(users_file: str | None, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Users and their password hashes, from ``users_file`` (``name:hash`` lines, ``#``
    comments) and the environment variable :data:`USERS_VARIABLE`.

    :raises ValueError: a file that cannot be read, a line that is not ``name:hash``, a
        password that is not hashed (make hashes with ``databay web --hash-password``).
    """
    environ = os.environ if environ is None else environ
    entries: list[tuple[str, str]] = []
    if users_file:
        try:
            text = Path(users_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"users_file: cannot read {users_file}: {exc.strerror or exc}") from None
        entries += [(f"{users_file} line {number}", line.strip()) for number, line in enumerate(text.splitlines(), 1)
                    if line.strip() and not line.lstrip().startswith("#")]
    variable = environ.get(USERS_VARIABLE, "")
    entries += [(f"${USERS_VARIABLE} entry {number}", entry)
                for number, entry in enumerate(variable.replace(",", " ").split(), 1)]
    users: dict[str, str] = {}
    for where, entry in entries:
        name, colon, hashed = entry.partition(":")
        if not colon or not name.strip():
            raise ValueError(f"{where}: expected NAME:HASH (make one with `databay web --hash-password`)")
        problem = check_hash(hashed)
        if problem:
            raise ValueError(f"{where} ({name.strip()}): {problem}")
        users[name.strip()] = hashed
    return users


@dataclass(frozen=True)
class WebSettings:
    """Everything the server needs to know about serving, checked.

    :param login_required: viewing needs a login too (actions always do).
    :param unready_after: ``/readyz`` fails once a link has failed for this many seconds.
    """

    address: Address
    users: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    login_required: bool = False
    debug: bool = False
    unready_after: float = 300.0
    tls_cert: str | None = None
    tls_key: str | None = None
    session_seconds: float = 12 * 3600.0
    read_only: bool = False

    @property
    def auth_configured(self) -> bool:
        return bool(self.users or self.token)

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    @classmethod
    def make(cls, listen: str, users_file: str | None = None, token: str | None = None,
             login_required: bool | None = None, debug: bool = False, unready_after: float = 300.0,
             tls_cert: str | None = None, tls_key: str | None = None, session_hours: float = 12.0,
             read_only: bool = False, environ: dict[str, str] | None = None) -> WebSettings:
        """Checked settings (see :class:`databay_web.service.WebService` for the arguments).

        :raises ValueError: what is wrong and what to do about it.
        """
        address = parse_listen(listen)
        users = read_users(users_file, environ)
        if token is not None and len(token) < 16:
            raise ValueError("token: use at least 16 characters (e.g. `python -c \"import secrets; "
                             "print(secrets.token_urlsafe())\"`)")
        if not address.loopback and not (users or token):
            raise ValueError(f"listen: {address} is reachable from other machines, and no authentication is "
                             f"configured: set users_file (or ${USERS_VARIABLE}) or token, or listen on "
                             f"127.0.0.1")
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both, or neither")
        for name, path in (("tls_cert", tls_cert), ("tls_key", tls_key)):
            if path is not None and not Path(path).is_file():
                raise ValueError(f"{name}: no such file: {path}")
        if not unready_after > 0:
            raise ValueError(f"unready_after: a positive number of seconds, not {unready_after!r}")
        if not session_hours > 0:
            raise ValueError(f"session_hours: a positive number of hours, not {session_hours!r}")
        if login_required is None:  # open to view on this machine only
            login_required = not address.loopback
        if login_required and not (users or token):
            raise ValueError("login_required: no one could log in: set users_file (or "
                             f"${USERS_VARIABLE}) or token")
        return cls(address, users, token, login_required, debug, float(unready_after), tls_cert, tls_key,
                   session_hours * 3600.0, read_only)
