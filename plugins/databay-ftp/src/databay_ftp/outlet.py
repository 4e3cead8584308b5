"""The :class:`FtpOutlet`: uploads records as files to an FTP, FTPS or SFTP server."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from databay import MetadataKey, Outlet
from databay.printable import describe_record
from databay.stage import Stage

from databay_ftp.connection import Connection
from databay_ftp.endpoint import Endpoint
from databay_ftp.errors import FtpFormatError
from databay_ftp.formats import EXTENSIONS, WRITE_FORMATS, check_encoding, check_format, encode
from databay_ftp.naming import (
    FilenameTemplate,
    check_name,
    random_uuid,
    stable_uuid,
    transfer_number,
    transfer_time,
)

if TYPE_CHECKING:
    from databay import Record, Update

    from databay_ftp.remote import RemoteSession

__all__ = ["FtpOutlet"]

_LOGGER = logging.getLogger("databay.FtpOutlet")

DEFAULT_FILENAME = "{tags}-{time}-{uuid}.{ext}"
_MAX_TEMPLATES = 256  # templates from FILENAME metadata kept compiled


class FtpOutlet(Outlet):
    """Outlet uploading records as files to an FTP, FTPS or SFTP server.

    Each push writes its records into files named by ``filename`` (a template, see
    below): with ``format`` ``jsonl``, ``json`` or ``csv``, all records whose name comes
    out the same go into one file; with ``bytes``, each record is a file. Uploads are
    atomic: each file is written under a hidden temporary name in the same directory
    (``.<name>.<token>.part``) and then renamed, so a reader never sees part of a file.
    A file of the same name is replaced. Missing subdirectories of a name are created;
    the URL's directory itself must exist.

    Pushes are synchronous (databay runs them in its thread pool); pushes of one outlet
    never overlap. The outlet keeps one connection open from one push to the next, and
    opens a new one when it has been unused for ``idle_timeout`` seconds or the server
    closed it; ``on_shutdown`` logs out.

    Template fields: ``{tags}`` (the link's tags, joined with ``.``), ``{update}`` (the
    transfer number), ``{uuid}`` (32 new hex digits per file), ``{batch}`` (the staged
    batch's id), ``{time:<strftime format>}`` (the push's time in UTC; plain ``{time}`` is
    ``20240501T120000Z``), ``{ext}`` (``jsonl``, ``csv``, ``json`` or ``bin``). Slashes make
    subdirectories: ``{time:%Y/%m/%d}/{tags}-{uuid}.{ext}``.

    On a link with a stage, every field gives a batch the same name at every delivery, so
    a batch delivered again (after a crash or a failed push) replaces its first copy
    instead of duplicating it: ``{uuid}`` is derived from the batch's stable id
    (``Stage.BATCH_ID``), and ``{time}`` and ``{update}`` are those of the batch's commit
    to the stage (``Stage.BATCH_TIME``, ``Stage.BATCH_UPDATE``), not of the push.

    :param url: ``ftp://user@host[:port]/directory``, ``ftps://...`` (explicit FTP over
        TLS) or ``sftp://user@host[:port]/directory``. The path is absolute; ``/~/dir`` is
        ``dir`` under the login directory, and no path is the login directory itself.
    :param password: The password (write ``password = "${FTP_PASSWORD}"`` in a pipeline
        file); never shown in any output. For SFTP with ``private_key``, it unlocks the key.
    :param filename: The file name template (default ``{tags}-{time}-{uuid}.{ext}``).
    :param format: ``'jsonl'`` (default), ``'csv'``, ``'json'`` or ``'bytes'``.
    :param encoding: Text encoding of ``jsonl``, ``json`` and ``csv`` files (and of ``str``
        payloads in ``bytes``); default ``'utf-8'``.
    :param timeout: Seconds to wait for the server when connecting and for each operation.
    :param idle_timeout: Seconds an unused connection is kept for the next push.
    :param passive: FTP/FTPS passive mode (default ``True``; ``False`` for active mode).
    :param cacert: FTPS: a PEM file of the certificate authorities to trust instead of the
        system's (e.g. a private CA, or a self-signed server certificate).
    :param known_hosts: SFTP: an OpenSSH ``known_hosts`` file holding the server's host key
        (default ``~/.ssh/known_hosts``).
    :param private_key: SFTP: a private key file to log in with, instead of a password.

    Remaining arguments (``processors``, ``retry``) go to :class:`~databay.Outlet`.

    Errors (each message names the endpoint and the file, never the password):
    :class:`~databay_ftp.errors.FtpConnectionError` (unreachable, dropped, timed out),
    :class:`~databay_ftp.errors.FtpAuthenticationError` (login refused, certificate or host
    key not trusted), :class:`~databay_ftp.errors.FtpOperationError` (permission denied,
    missing directory, no space), :class:`~databay_ftp.errors.FtpFormatError` (a record
    that cannot be written in ``format``: raised before anything of the push is uploaded).
    """

    FILENAME: MetadataKey = "FtpOutlet.FILENAME"
    """A file name template for this record, instead of ``filename``."""

    def __init__(
        self,
        url: str,
        password: str | None = None,
        filename: str = DEFAULT_FILENAME,
        format: str = "jsonl",
        *args: Any,
        encoding: str = "utf-8",
        timeout: float = 30.0,
        idle_timeout: float = 60.0,
        passive: bool = True,
        cacert: str | os.PathLike[str] | None = None,
        known_hosts: str | os.PathLike[str] | None = None,
        private_key: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.endpoint = Endpoint.from_arguments("FtpOutlet", url, password, timeout, passive, cacert, known_hosts,
                                                private_key)
        self.filename = FilenameTemplate(filename)
        self.format = check_format("FtpOutlet", format, WRITE_FORMATS)
        self.encoding = check_encoding("FtpOutlet", encoding)
        self._connection = Connection(self.endpoint, "FtpOutlet", idle_timeout)
        self._templates: dict[str, FilenameTemplate] = {filename: self.filename}

    @property
    def url(self) -> str:
        """The endpoint's URL, without password."""
        return self.endpoint.display

    def push(self, records: list[Record], update: Update) -> None:
        """Upload the records: one file per name (per record with ``format='bytes'``).

        Every file's content is made before the first upload, so a record that cannot be
        written fails the push with nothing uploaded.

        :param records: Records to write.
        :param update: Update object representing the particular Link transfer.
        """
        if not records:
            return
        files = self._files(records, update)
        self._connection.run(lambda session: self._upload(session, files))
        if _LOGGER.isEnabledFor(logging.INFO):
            for name, content, _ in files:
                _LOGGER.info("%s uploaded %s (%d bytes)", update, self.endpoint.where(name), len(content))

    def _files(self, records: list[Record], update: Update) -> list[tuple[str, bytes, str]]:
        """``(name, content, temporary name token)`` of each file of the push."""
        staged = Stage.BATCH_ID in records[0].metadata
        common = {"tags": ".".join(update.tags), "update": update.transfer_number, "time": transfer_time(),
                  "ext": EXTENSIONS[self.format]}
        key, default = self.FILENAME, self.filename.template
        by_template: dict[str, list[int]] = {}
        if any(key in record.metadata for record in records):
            for index, record in enumerate(records):
                text = record.metadata.get(key, default)
                if type(text) is not str:
                    raise ValueError(f"FtpOutlet: {describe_record(record, index)} has metadata['{key}'] = "
                                     f"{text!r}; it must be a file name template (a string)")
                by_template.setdefault(text, []).append(index)
        else:
            by_template[default] = list(range(len(records)))
        files: dict[str, list[int]] = {}  # name -> its records, in order of first appearance
        tokens: dict[str, str] = {}
        for text, indexes in by_template.items():
            template = self._template(text, records[indexes[0]], indexes[0])
            for unit in [[index] for index in indexes] if self.format == "bytes" else [indexes]:
                name, token = self._name(template, records, unit, common, staged)
                if name in files and self.format == "bytes":
                    raise FtpFormatError(
                        f"FtpOutlet cannot name the file of {describe_record(records[unit[0]], unit[0])}: "
                        f"{self.endpoint.where(name)} is the file of record {files[name][0]} too; with format "
                        f"'bytes' each record needs a name of its own (use {{uuid}} in the template)")
                files.setdefault(name, []).extend(unit)
                tokens.setdefault(name, token)
        return [(name, self._content(name, records, indexes), tokens[name]) for name, indexes in files.items()]

    def _name(self, template: FilenameTemplate, records: list[Record], unit: list[int], common: dict[str, Any],
              staged: bool) -> tuple[str, str]:
        """The name of the file of ``records[i] for i in unit``, and a token for its temporary name.

        Both derive from the records' stable ids and stamps on a staged link (their batch's,
        or the record's with ``bytes``): a redelivery replaces the file, and a temporary file
        left by a crash too.
        """
        first, last = records[unit[0]], records[unit[-1]]
        values = {**common, "batch": _batch(first, unit[0], template)}
        if staged:
            id_key = Stage.RECORD_ID if self.format == "bytes" else Stage.BATCH_ID
            # Records of several batches share a file when a buffer released them together.
            stable = f"{first.metadata.get(id_key)}..{last.metadata.get(id_key)}/{template.template}"
            values["uuid"] = token = stable_uuid(stable)
            values.update(_committed(first, unit[0]))
        else:
            values["uuid"] = token = random_uuid()
        try:
            name = check_name(template.render(values))
        except FtpFormatError as exc:
            raise FtpFormatError(f"FtpOutlet cannot name the file of {describe_record(first, unit[0])}: "
                                 f"{exc}") from None
        return name, token[:16]

    def _content(self, name: str, records: list[Record], indexes: list[int]) -> bytes:
        """The content of file ``name``, holding ``records[i] for i in indexes``."""
        where = self.endpoint.where(name)

        def describe(position: int) -> str:
            index = indexes[position]
            return f"FtpOutlet cannot write {describe_record(records[index], index)} to {where}"

        return encode(self.format, [records[index].payload for index in indexes], self.encoding, describe)

    def _upload(self, session: RemoteSession, files: list[tuple[str, bytes, str]]) -> None:
        for name, content, token in files:
            session.put_atomically(name, content, token)

    def _template(self, text: str, record: Record, index: int) -> FilenameTemplate:
        """The compiled template ``text`` (from ``record``'s metadata unless it is ``filename``)."""
        template = self._templates.get(text)
        if template is None:
            try:
                template = FilenameTemplate(text)
            except ValueError as exc:
                raise ValueError(f"{exc} (in metadata['{self.FILENAME}'] of "
                                 f"{describe_record(record, index)})") from None
            if len(self._templates) >= _MAX_TEMPLATES:
                self._templates = {self.filename.template: self.filename}
            self._templates[text] = template
        return template

    def on_shutdown(self) -> None:
        """Log out and close the connection."""
        self._connection.close()

    def __repr__(self) -> str:
        return f"FtpOutlet({self.endpoint.display})"


def _batch(record: Record, index: int, template: FilenameTemplate) -> str | None:
    batch = record.metadata.get(Stage.BATCH_ID)
    if batch is None:
        if "batch" in template.fields:
            raise ValueError(f"FtpOutlet cannot name the file of {describe_record(record, index)}: the template "
                             f"{template.template!r} uses {{batch}}, and records only have a batch on a link with "
                             f"a stage")
        return None
    return str(batch).replace(":", "-")


def _committed(record: Record, index: int) -> dict[str, Any]:
    """``{time}`` and ``{update}`` of a staged record: its batch's commit time and transfer
    number (``Stage.BATCH_TIME``, ``Stage.BATCH_UPDATE``), whichever it carries."""
    metadata = record.metadata
    values: dict[str, Any] = {}
    when = metadata.get(Stage.BATCH_TIME)
    if when is not None:
        values["time"] = transfer_time(when)
    transfer = metadata.get(Stage.BATCH_UPDATE)
    if transfer is not None:
        try:
            values["update"] = transfer_number(transfer)
        except ValueError as exc:
            raise ValueError(f"FtpOutlet cannot name the file of {describe_record(record, index)}: its "
                             f"metadata['{Stage.BATCH_UPDATE}'] {exc}") from None
    return values
