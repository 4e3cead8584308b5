"""Redis URLs: connecting with redis-py, and naming a server without its password."""

from __future__ import annotations

from urllib.parse import urlsplit

import redis
from databay.redaction import register_secret

__all__ = ["client", "shown"]


def shown(url: str) -> str:
    """``url`` without user name and password, for messages: ``redis://host:6379/0``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def client(url: str, **options: object) -> redis.Redis:
    """A redis-py client for ``url`` (``redis://``, ``rediss://`` or ``unix://``).

    Its password is registered with databay's redaction, so that no message shows it.
    :raises ValueError: not a Redis URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"not a Redis URL: {shown(url)!r} (expected redis://host:port/db, rediss:// or unix://)")
    if parts.password:
        register_secret(parts.password, "<redis password>")
    return redis.Redis.from_url(url, **options)  # type: ignore[arg-type]
