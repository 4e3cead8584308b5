"""The :class:`FileInlet` and :class:`FileInletMode`."""

from __future__ import annotations

import os
from enum import Enum
from typing import IO

from databay.inlet import Inlet


class FileInletMode(Enum):
    """Enum defining the mode in which the FileInlet should read the file."""

    LINE = "line"
    """Read one line per transfer; the file stays open while the planner runs."""

    FILE = "file"
    """Read the entire file on each transfer; the file is open only during the transfer."""


class FileInlet(Inlet):
    """Inlet producing data by reading a file.

    :param filepath: Path to the file.
    :param read_mode: :attr:`FileInletMode.LINE` (default) or :attr:`FileInletMode.FILE`.
    :param encoding: Text encoding of the file. Default ``utf-8``.

    In ``LINE`` mode each record is one line as read (with its newline); a transfer that
    finds no new line produces no record (databay 0.3 produced an empty string).
    """

    def __init__(self, filepath: str | os.PathLike, read_mode: FileInletMode = FileInletMode.LINE,
                 *args, encoding: str = "utf-8", **kwargs):
        super().__init__(*args, **kwargs)
        self.filepath = filepath
        self.read_mode = FileInletMode(read_mode)
        self.encoding = encoding
        self.file: IO[str] | None = None

    def pull(self, update):
        """Produce the next line (``LINE``) or the whole file (``FILE``).

        :raises FileNotFoundError: if the file does not exist.
        """
        if self.read_mode is FileInletMode.FILE:
            with open(self.filepath, encoding=self.encoding) as f:
                return f.read()
        if self.file is None:  # pulled without a planner: open on first use
            self.on_start()
        line = self.file.readline()
        return line if line else []

    def on_start(self) -> None:
        """In ``LINE`` mode, open the file and keep it open.

        :raises FileNotFoundError: if the file does not exist.
        """
        if self.read_mode is FileInletMode.LINE and self.file is None:
            self.file = open(self.filepath, encoding=self.encoding)

    def on_shutdown(self) -> None:
        """In ``LINE`` mode, close the file."""
        if self.file is not None:
            self.file.close()
            self.file = None

    def __repr__(self) -> str:
        s = f"{type(self).__name__}(filepath={self.filepath}, read_mode={self.read_mode}"
        if self.metadata:
            s += f", metadata={self.metadata}"
        return s + ")"
