"""Where a component connects (``ftp://``, ``ftps://``, ``sftp://`` URLs) and with what.

Shared by :class:`~databay_ftp.outlet.FtpOutlet` and :class:`~databay_ftp.inlet.FtpInlet`.
The password is kept out of every text this module makes and registered with
:mod:`databay.redaction`, so that no log or error shows it.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass, field

from databay.redaction import register_secret

SCHEMES = {"ftp": 21, "ftps": 21, "sftp": 22}
"""The URL schemes understood, with their default ports."""


@dataclass(frozen=True)
class Endpoint:
    """A server, a user and a directory on it, plus how to connect and what to trust.

    Build it with :meth:`from_arguments`, which validates the arguments.

    ``directory`` is ``""`` for the login directory, ``"/abs/path"`` for an absolute one
    and ``"rel/path"`` for one under the login directory (URL path ``/~/rel/path``).
    """

    scheme: str
    host: str
    port: int
    user: str
    directory: str
    password: str | None = field(repr=False)
    timeout: float = 30.0
    passive: bool = True
    cacert: str | None = None
    known_hosts: str | None = None
    private_key: str | None = None

    @classmethod
    def from_arguments(
        cls,
        owner: str,
        url: str,
        password: str | None,
        timeout: float,
        passive: bool = True,
        cacert: str | os.PathLike[str] | None = None,
        known_hosts: str | os.PathLike[str] | None = None,
        private_key: str | os.PathLike[str] | None = None,
    ) -> Endpoint:
        """Check a component's connection arguments; ``owner`` names it in errors.

        :raises ValueError: an invalid URL or option, named (never showing a password).
        """
        if not isinstance(url, str) or "://" not in url:
            raise ValueError(f"{owner}: url must be 'ftp://', 'ftps://' or 'sftp://user@host[:port]/directory', "
                             f"got {_shown(url)!r}")
        parts = urllib.parse.urlsplit(url)
        if parts.password:
            register_secret(parts.password)
            register_secret(urllib.parse.unquote(parts.password))
        if password is not None:
            if not isinstance(password, str):
                raise TypeError(f"{owner}: password must be a string, got {type(password).__name__}")
            register_secret(password)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise ValueError(f"{owner}: url scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"{owner}: url must not have a query or fragment ('?...', '#...')")
        if not parts.hostname:
            raise ValueError(f"{owner}: url names no host")
        try:
            port = parts.port or SCHEMES[scheme]
        except ValueError:
            raise ValueError(f"{owner}: url has an invalid port") from None
        user = urllib.parse.unquote(parts.username or "")
        if not user:
            if scheme == "sftp":
                raise ValueError(f"{owner}: an sftp:// url needs a user name (sftp://user@host/...)")
            user = "anonymous"
        if parts.password is not None:
            if password is not None:
                raise ValueError(f"{owner}: give the password either in the url or as password, not both")
            password = urllib.parse.unquote(parts.password)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ValueError(f"{owner}: timeout must be a positive number of seconds, got {timeout!r}")
        files = {"cacert": cacert, "known_hosts": known_hosts, "private_key": private_key}
        wanted = {"cacert": "ftps", "known_hosts": "sftp", "private_key": "sftp"}
        checked: dict[str, str | None] = {}
        for name, value in files.items():
            if value is None:
                checked[name] = None
                continue
            if scheme != wanted[name]:
                raise ValueError(f"{owner}: {name} applies to {wanted[name]}:// urls only, not {scheme}://")
            path = os.path.expanduser(os.fspath(value))
            if not os.path.isfile(path):
                raise ValueError(f"{owner}: {name} file {path!r} does not exist or is not a file")
            checked[name] = path
        return cls(scheme, parts.hostname, port, user, _directory(urllib.parse.unquote(parts.path)), password,
                   float(timeout), bool(passive), checked["cacert"], checked["known_hosts"], checked["private_key"])

    @property
    def display(self) -> str:
        """The endpoint as a URL without password: ``ftp://alice@127.0.0.1:2121/in``.

        The login directory shows as ``/~`` (``ftp://alice@host:21/~``).
        """
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.directory.startswith("/"):
            path = self.directory
        else:
            path = f"/~/{self.directory}" if self.directory else "/~"
        return f"{self.scheme}://{urllib.parse.quote(self.user, safe='')}@{host}:{self.port}{path}"

    def where(self, name: str) -> str:
        """The display URL of ``name``, a path relative to the directory."""
        base = self.display
        return f"{base}{name}" if base.endswith("/") else f"{base}/{name}"


def _directory(path: str) -> str:
    """``""`` (login directory), ``"/abs"`` or ``"rel"`` (under the login directory) from a URL path."""
    if path in ("", "/~", "/~/"):
        return ""
    if path.startswith("/~/"):
        return path[3:].rstrip("/")
    return path.rstrip("/") or "/"


def _shown(url: object) -> object:
    """``url`` with any password taken out, for an error message."""
    if isinstance(url, str) and "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, _, host = rest.rpartition("@")
        return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return url
