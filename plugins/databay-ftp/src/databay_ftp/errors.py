"""Exceptions of databay-ftp (importing them imports neither ftplib nor paramiko).

Every message names the endpoint as ``scheme://user@host:port/directory`` (never a
password) and, where one is involved, the remote file.
"""

from __future__ import annotations


class FtpError(Exception):
    """Base class of the errors of databay-ftp's components."""


class FtpConnectionError(FtpError, ConnectionError):
    """The server cannot be reached, or the connection dropped or timed out mid-way.

    Retrying later usually helps; the component opens a new connection at its next use.
    """


class FtpAuthenticationError(FtpError, PermissionError):
    """One side could not prove who it is: the server refused the user name and password
    (or key), or the server's TLS certificate or SSH host key could not be verified
    (see the ``cacert`` and ``known_hosts`` options)."""


class FtpOperationError(FtpError, OSError):
    """The server refused an operation on a file or directory: permission denied, a missing
    directory, no space left (``errno`` is ``ENOSPC``), a name it does not accept.

    The message gives the server's own reply.
    """


class FtpFormatError(FtpError, ValueError):
    """A record cannot be written in the outlet's ``format`` (or named), or a file read by the
    inlet is not valid in the inlet's ``format`` or larger than its ``max_bytes``. The message
    names the record or the file."""
