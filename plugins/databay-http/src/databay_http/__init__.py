"""databay-http: an HTTP inlet and outlet for databay, on aiohttp.

Importing this package is cheap: the components (and aiohttp) load on first access::

    from databay_http import HttpInlet, HttpOutlet
    from databay.inlets import HttpInlet   # the same class, found through the plugin
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "1.0.0a1"

_LAZY = {
    "HttpInlet": "databay_http.inlet",
    "HttpOutlet": "databay_http.outlet",
    "HttpError": "databay_http.errors",
    "HttpStatusError": "databay_http.errors",
    "HttpConnectionError": "databay_http.errors",
    "HttpTLSError": "databay_http.errors",
    "HttpTimeoutError": "databay_http.errors",
    "HttpDecodeError": "databay_http.errors",
    "HttpRedirectError": "databay_http.errors",
    "HttpBodyTooLargeError": "databay_http.errors",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'databay_http' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
