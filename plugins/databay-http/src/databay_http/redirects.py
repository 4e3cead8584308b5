"""Where a component's requests may be redirected, and what goes along.

A request's configured headers (``Authorization``, ``X-Api-Key``, cookies...), the
credentials in its URL and its body are meant for the origin it was configured with. On a
redirect they go along only to that same origin (scheme, host and port), to the same host
moving from ``http`` on port 80 to ``https`` on port 443, or to a host named in
``redirect_hosts`` (never from ``https`` down to ``http``). Any other origin is followed
without them, and refused when the redirected request would carry the body (a 307 or
308 of a request with one): sending it without its body would be another request.

Statuses and methods are those of RFC 9110, as browsers and aiohttp apply them: a 303 (and
a 301 or 302 of a ``POST``) continues as a ``GET`` without a body; a 307 or 308 (and a 301
or 302 of any other method) repeats the method and the body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from yarl import URL

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
"""Redirects followed in a row at most (as aiohttp's default)."""

_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                   r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


class RedirectPolicy:
    """Which redirects a component follows, and to which hosts its headers and body go along.

    :param owner: the component's class name, for error messages.
    :param follow: follow redirects at all; ``False``: a redirect is an error.
    :param hosts: hosts (``"api.example.org"``, any port) or hosts and ports
        (``"127.0.0.1:8443"``) that may receive the headers, credentials and body besides
        the request's own origin.
    """

    def __init__(self, owner: str, follow: bool = True, hosts: Iterable[str] = ()):
        if not isinstance(follow, bool):
            raise ValueError(f"{owner}: follow_redirects must be True or False, got {follow!r}")
        if isinstance(hosts, str) or not isinstance(hosts, Iterable):
            raise ValueError(f"{owner}: redirect_hosts must be a list of host names, got {hosts!r}")
        self.follow = follow
        self.hosts = frozenset(_host_entry(owner, host) for host in hosts)

    def trusts(self, origin: URL, target: URL) -> bool:
        """Whether a request configured for ``origin`` may take its headers, credentials
        and body to ``target``."""
        if origin.scheme == "https" and target.scheme != "https":
            return False
        if (target.scheme, target.host, target.port) == (origin.scheme, origin.host, origin.port):
            return True
        if (target.host == origin.host and (origin.scheme, target.scheme) == ("http", "https")
                and origin.is_default_port() and target.is_default_port()):
            return True
        return target.host in self.hosts or f"{target.host}:{target.port}" in self.hosts


def redirected_request(status: int, method: str, body: Any) -> tuple[str, Any]:
    """The method and body of the request a redirect with ``status`` leads to."""
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        return "GET", None
    return method, body


def _host_entry(owner: str, host: Any) -> str:
    """``host`` as :meth:`RedirectPolicy.trusts` compares it: ``name`` or ``name:port``, lowercase."""
    if not isinstance(host, str) or not _HOST.fullmatch(host):
        raise ValueError(f"{owner}: redirect_hosts takes host names or host:port, such as 'api.example.org' "
                         f"or '127.0.0.1:8443', got {host!r}")
    parsed = URL(f"http://{host}")
    return parsed.host if parsed.explicit_port is None else f"{parsed.host}:{parsed.explicit_port}"  # type: ignore[return-value]
