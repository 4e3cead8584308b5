"""The :class:`S3Inlet`: reads the objects added to a bucket (under a prefix) since the last pull."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from databay import Inlet, MetadataKey, Record

from databay_s3 import formats
from databay_s3.connection import S3Endpoint, check_name, check_positive
from databay_s3.errors import S3FormatError, S3ObjectTooLarge

if TYPE_CHECKING:
    from databay import Update

__all__ = ["S3Inlet"]

_LOGGER = logging.getLogger("databay.S3Inlet")

_MIB = 1024 * 1024


class S3Inlet(Inlet):
    """Inlet producing the content of the objects added to a bucket since its last pull,
    each object once, in key order. Pulls are executed synchronously.

    Each pull lists the keys under ``prefix`` that sort after :attr:`position` (the last key
    read), reads those objects in key order and produces one record per line (``jsonl``),
    row (``csv``, a dict of strings) or array element (``json``; any other JSON value is one
    record); then :attr:`position` moves to the last key read. Each record's metadata names
    the object it came from under :attr:`OBJECT_KEY`.

    Keys must grow as objects are added: an object whose key sorts before the position when
    it appears is never read. Keys starting with a time do (``S3Outlet``'s default key, with
    one writer per prefix, does; on a staged link a replayed dead letter is the exception:
    it is written under its own batch's time, before the keys written since).

    A pull is bounded: it reads at most ``max_objects`` objects and ``max_bytes`` bytes (the
    rest come with the next pulls). An object larger than ``max_bytes`` on its own raises
    :class:`~databay_s3.errors.S3ObjectTooLarge` naming it, and stays next in line.

    On a link with a stage the position is the inlet's state (:meth:`get_state` /
    :meth:`set_state`), committed with the records each pull produced: after a crash or a
    restart the inlet carries on after the last object whose records were committed, so
    each object is read once.

    Credentials are never arguments: boto3 finds them itself (see
    :class:`~databay_s3.outlet.S3Outlet`).

    :param bucket: The bucket to read.
    :param prefix: Only keys starting with it (e.g. ``'todos/'``). Default ``''``: all.
    :param format: ``'jsonl'`` (default), ``'csv'`` or ``'json'``.
    :param endpoint_url: An S3-compatible endpoint; ``None`` for AWS.
    :param region: The AWS region (``None``: boto3's configuration).
    :param profile: A profile of the shared AWS config files (``None``: the default chain).
    :param start_after: Initial :attr:`position`: only keys sorting after it are read
        (``None``: from the first key).
    :param max_objects: At most this many objects per pull. Default 100.
    :param max_bytes: At most this many bytes per pull (the first object of a pull may not
        exceed it either). Default 64 MiB.
    :param connect_timeout: Seconds to wait for a connection. Default 5.
    :param read_timeout: Seconds to wait for an answer. Default 60.
    :param client_options: Further ``botocore.config.Config`` options.

    Remaining arguments (``metadata``, ``retry``) go to :class:`~databay.inlet.Inlet`.

    Errors: a failed request raises one error naming the bucket or object and the endpoint,
    as :class:`~databay_s3.outlet.S3Outlet`'s do. An object whose content is not valid in
    ``format`` raises :class:`~databay_s3.errors.S3FormatError` naming it and the line; the
    objects before it in the pull are produced first and the position stays before it, so
    every later pull reports it until it is fixed or removed (or :attr:`position` is moved
    past it).
    """

    OBJECT_KEY: MetadataKey = "S3Inlet.OBJECT_KEY"
    """Metadata key of each record: the key of the object it was read from."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        format: str = "jsonl",
        endpoint_url: str | None = None,
        region: str | None = None,
        *args: Any,
        profile: str | None = None,
        start_after: str | None = None,
        max_objects: int = 100,
        max_bytes: int = 64 * _MIB,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        client_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.bucket = check_name("S3Inlet", "bucket", bucket)
        self.prefix = check_name("S3Inlet", "prefix", prefix, empty=True)
        self.format = formats.check_format("S3Inlet", format)
        self.endpoint = S3Endpoint("S3Inlet", endpoint_url, region, profile, connect_timeout, read_timeout,
                                   client_options)
        self.max_objects = check_positive("S3Inlet", "max_objects", max_objects, integer=True)
        self.max_bytes = check_positive("S3Inlet", "max_bytes", max_bytes, integer=True)
        if start_after is not None:
            check_name("S3Inlet", "start_after", start_after)
        self.position: str | None = start_after
        """The last key read (``None``: nothing yet): the next pull reads the keys after it. Settable."""
        self._lock = threading.Lock()  # pulls of one inlet shared by several links must not interleave

    # -- lifecycle and state -------------------------------------------------------------

    def on_start(self) -> None:
        """Make the boto3 client (no request is sent)."""
        self.endpoint.client()

    def on_shutdown(self) -> None:
        """Close the client's connections."""
        self.endpoint.close()

    def get_state(self) -> dict[str, Any] | None:
        """The position as ``{"after": "<last key read>"}``; ``None`` before anything was read."""
        position = self.position
        return None if position is None else {"after": position}

    def set_state(self, state: dict[str, Any] | None) -> None:
        """Carry on after the key in ``state`` (from :meth:`get_state`)."""
        after = None if state is None else state.get("after") if isinstance(state, dict) else state
        if after is not None and not isinstance(after, str):
            raise ValueError(f"S3Inlet: a saved position is {{'after': '<key>'}}, got {state!r}")
        with self._lock:
            self.position = after

    # -- pulling -------------------------------------------------------------------------

    def pull(self, update: Update) -> list[Record]:
        """Read the objects added since the previous pull (bounded) and move :attr:`position`.

        :param update: Update object representing the particular Link transfer.
        """
        with self._lock:
            records: list[Record] = []
            position = self.position
            taken = size = 0
            # The position moves only when the pull returns: a request failing midway raises
            # and the next pull reads the same objects again (nothing read is lost).
            for key, object_size in self._new_keys(position):
                if size + object_size > self.max_bytes:
                    if not taken:
                        raise self._too_large(key, str(object_size))
                    break
                try:
                    payloads = self._read(key)
                except (S3FormatError, S3ObjectTooLarge):
                    if not taken:
                        raise
                    break  # what came before is produced; the next pull reports it
                if payloads is not None:
                    new_record = self.new_record
                    records.extend(new_record(payload, {self.OBJECT_KEY: key}) for payload in payloads)
                position = key
                taken += 1
                size += object_size
                if taken >= self.max_objects:
                    break
            self.position = position
            return records

    def _new_keys(self, start_after: str | None) -> Iterator[tuple[str, int]]:
        """The keys after ``start_after`` and their sizes, in key order, a page at a time."""
        client = self.endpoint.client()
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix,
                                     "MaxKeys": min(1000, self.max_objects + 1)}
        while True:
            if start_after is not None:
                arguments["StartAfter"] = start_after
            try:
                page = client.list_objects_v2(**arguments)
            except Exception as exc:
                raise self.endpoint.error("cannot list", f"s3://{self.bucket}/{self.prefix}", exc) from exc
            contents = page.get("Contents", [])
            for entry in contents:
                yield entry["Key"], entry["Size"]
            if not page.get("IsTruncated") or not contents:
                return
            start_after = contents[-1]["Key"]

    def _read(self, key: str) -> list[Any] | None:
        """The payloads of the object at ``key``; ``None`` if it was deleted since it was listed."""
        client = self.endpoint.client()
        location = f"s3://{self.bucket}/{key}"
        try:
            data = client.get_object(Bucket=self.bucket, Key=key)["Body"].read(self.max_bytes + 1)
        except client.exceptions.NoSuchKey:
            _LOGGER.warning("S3Inlet: %s was deleted before it could be read; skipped", location)
            return None
        except Exception as exc:
            raise self.endpoint.error("cannot read", location, exc) from exc
        if len(data) > self.max_bytes:  # it grew since it was listed
            raise self._too_large(key, f"more than {self.max_bytes}")
        try:
            return formats.decode(self.format, data, location)
        except ValueError as exc:
            raise S3FormatError(f"S3Inlet (endpoint {self.endpoint.address}): {exc} (format {self.format!r}); "
                                f"the objects after it are not read until it is fixed or removed") from None

    def _too_large(self, key: str, size: str) -> S3ObjectTooLarge:
        return S3ObjectTooLarge(
            f"S3Inlet cannot read s3://{self.bucket}/{key} (endpoint {self.endpoint.address}): it holds {size} "
            f"bytes, more than max_bytes={self.max_bytes} a pull may read; raise max_bytes, or move the object away")

    def __repr__(self) -> str:
        return f"S3Inlet(s3://{self.bucket}/{self.prefix})"
