"""databay-ftp: an FTP, FTPS and SFTP outlet and inlet for databay.

Importing this package is cheap: the components (and paramiko) load on first access::

    from databay_ftp import FtpOutlet, FtpInlet
    from databay.outlets import FtpOutlet   # the same class, found through the plugin
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "1.0.0a1"

_LAZY = {
    "FtpOutlet": "databay_ftp.outlet",
    "FtpInlet": "databay_ftp.inlet",
    "FtpError": "databay_ftp.errors",
    "FtpAuthenticationError": "databay_ftp.errors",
    "FtpConnectionError": "databay_ftp.errors",
    "FtpFormatError": "databay_ftp.errors",
    "FtpOperationError": "databay_ftp.errors",
}

__all__ = [
    "FtpAuthenticationError",
    "FtpConnectionError",
    "FtpError",
    "FtpFormatError",
    "FtpInlet",
    "FtpOperationError",
    "FtpOutlet",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'databay_ftp' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
