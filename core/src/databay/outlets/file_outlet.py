"""The :class:`FileOutlet`."""

from __future__ import annotations

import os
from collections import defaultdict

from databay.outlet import MetadataKey, Outlet


class FileOutlet(Outlet):
    """Outlet that writes records to a file, one ``str(payload)`` per line.

    :param default_filepath: File to write to when a record has no ``FILEPATH`` metadata.
    :param default_file_mode: Write mode when a record has no ``FILE_MODE``. Default ``'a'``.
    :param default_encoding: Encoding when a record has no ``FILE_ENCODING``. Default ``utf-8``.

    Each file is opened once per push for all the records going to it, in their order.
    Missing parent directories are created. In mode ``'w'`` a push replaces the file's
    content with all of its records for that file (databay 0.3.0 opened the file once per
    record, so only the push's last record remained).
    """

    FILEPATH: MetadataKey = "FileOutlet.FILEPATH"
    """Filepath of the file to write to."""

    FILE_MODE: MetadataKey = "FileOutlet.FILE_MODE"
    """Write mode to use when writing into the file."""

    FILE_ENCODING: MetadataKey = "FileOutlet.FILE_ENCODING"
    """Encoding to use when writing into the file."""

    def __init__(self, default_filepath: str | os.PathLike = "outputs/default_output.txt",
                 default_file_mode: str = "a", default_encoding: str = "utf-8", *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_filepath = default_filepath
        self.default_file_mode = default_file_mode
        self.default_encoding = default_encoding

    def push(self, records, update) -> None:
        """Write the records to their files, in order."""
        groups: dict[tuple, list[str]] = defaultdict(list)
        for record in records:
            meta = record.metadata
            target = (
                os.fspath(meta.get(self.FILEPATH, self.default_filepath)),
                meta.get(self.FILE_MODE, self.default_file_mode),
                meta.get(self.FILE_ENCODING, self.default_encoding),
            )
            groups[target].append(f"{record.payload}\n")
        for (path, mode, encoding), lines in groups.items():
            directory = os.path.dirname(path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            with open(path, mode, encoding=encoding) as f:
                f.writelines(lines)
