"""databay-http: an HTTP inlet and outlet for databay, on aiohttp.

Importing this package is cheap: the components (and aiohttp) load on first access::

    from databay_http import HttpInlet, HttpOutlet
    from databay.inlets import HttpInlet   # the same class, found through the plugin
"""

from databay.lazy import lazy_exports

__version__ = "1.0.0a1"

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "databay_http.inlet": ["HttpInlet"],
    "databay_http.outlet": ["HttpOutlet"],
    "databay_http.errors": [
        "HttpError", "HttpStatusError", "HttpConnectionError", "HttpTLSError", "HttpTimeoutError", "HttpDecodeError",
        "HttpRedirectError", "HttpBodyTooLargeError",
    ],
})
