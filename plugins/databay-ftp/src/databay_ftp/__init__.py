"""databay-ftp: an FTP, FTPS and SFTP outlet and inlet for databay.

Importing this package is cheap: the components (and paramiko) load on first access::

    from databay_ftp import FtpOutlet, FtpInlet
    from databay.outlets import FtpOutlet   # the same class, found through the plugin
"""

from databay.lazy import lazy_exports

__version__ = "1.0.0a1"

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "databay_ftp.outlet": ["FtpOutlet"],
    "databay_ftp.inlet": ["FtpInlet"],
    "databay_ftp.errors": [
        "FtpError", "FtpAuthenticationError", "FtpConnectionError", "FtpFormatError", "FtpOperationError",
    ],
})
