"""The :class:`S3Outlet`: writes each push's records as one object in an S3 bucket."""

from __future__ import annotations

import io
import logging
import threading
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from boto3.s3.transfer import S3Transfer, TransferConfig
from databay import MetadataKey, Outlet
from databay.printable import describe_record
from databay.stage import Stage

from databay_s3 import formats
from databay_s3.connection import S3Endpoint, check_name, check_positive
from databay_s3.errors import S3FormatError
from databay_s3.keys import KeyTemplate, UtcClock, tags_text

if TYPE_CHECKING:
    import datetime

    from databay import Record, Update

__all__ = ["DEFAULT_KEY", "S3Outlet"]

_LOGGER = logging.getLogger("databay.S3Outlet")

DEFAULT_KEY = "{tags}/{time:%Y/%m/%d/%H%M%S.%f}-{uuid}.{ext}"
"""Objects by link and date, in the order written, never overwriting one another."""

_MIB = 1024 * 1024
_STABLE_UUID_NAMESPACE = uuid.UUID("5d1b8f9e-3c0a-4f5e-9b7a-2d6c4e8f1a30")


class S3Outlet(Outlet):
    """Outlet writing each push's records to an S3 bucket as one object (per key). Pushes
    are executed synchronously (databay runs them in its thread pool).

    The object's key comes from the ``key`` template, or from the template in a record's
    :attr:`S3_KEY` metadata: records naming the same template go to the same object, so a
    push writes one object per template. Its content is the records' payloads in ``format``:
    ``'jsonl'`` (one JSON line per record, the default), ``'json'`` (one array) or ``'csv'``
    (a header, then one row per record; payloads are dicts, or lists of dicts).

    Key templates use the fields ``{tags}`` (the link's tags joined with ``.``), ``{update}``
    (the transfer, e.g. ``todos.16``), ``{uuid}`` (new for each object), ``{time:FORMAT}``
    (the transfer time in UTC, with a ``strftime`` format) and ``{ext}`` (``jsonl``, ``csv``
    or ``json``). The default, ``'{tags}/{time:%Y/%m/%d/%H%M%S.%f}-{uuid}.{ext}'``, never
    overwrites an object, and one outlet's keys sort in the order it wrote them (times
    never go backwards), which is how :class:`~databay_s3.inlet.S3Inlet` finds new objects.

    On a link with a stage, a batch pushed again after a failure or a crash is written to
    the same keys, overwriting rather than duplicating, with one ``PutObject`` per object
    as always: ``{uuid}`` is derived from the batch's stable id (``Stage.BATCH_ID``), and
    ``{time}`` and ``{update}`` are those of the batch's commit to the stage
    (``Stage.BATCH_TIME``, ``Stage.BATCH_UPDATE``), which its records carry at every
    delivery. Records of several batches in one push (an outlet buffer) go to one object
    per batch.

    Credentials are never arguments: boto3 reads them from the environment
    (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``), the shared
    credentials and config files (``AWS_PROFILE`` or ``profile``), or the container or
    instance role.

    :param bucket: The bucket to write to (it must exist).
    :param key: The key template (see above).
    :param format: ``'jsonl'`` (default), ``'csv'`` or ``'json'``.
    :param endpoint_url: An S3-compatible endpoint (MinIO, Ceph, a test server), e.g.
        ``'http://127.0.0.1:9000'``; ``None`` for AWS.
    :param region: The AWS region (``None``: boto3's configuration, ``AWS_DEFAULT_REGION``).
    :param profile: A profile of the shared AWS config files (``None``: the default chain).
    :param multipart_threshold: Objects of this many bytes or more are uploaded in parts, in
        parallel (boto3's transfer manager); smaller ones with one ``PutObject``. Default 8 MiB.
    :param multipart_chunksize: Size of each part of a multipart upload, at least 5 MiB.
        Default 8 MiB.
    :param max_concurrency: Parts uploaded at once in a multipart upload. Default 4.
    :param extra_args: Further ``PutObject`` arguments for every object, e.g.
        ``{"StorageClass": "STANDARD_IA", "ServerSideEncryption": "aws:kms"}``.
    :param connect_timeout: Seconds to wait for a connection. Default 5.
    :param read_timeout: Seconds to wait for an answer. Default 60.
    :param client_options: Further ``botocore.config.Config`` options, e.g.
        ``{"retries": {"total_max_attempts": 5}}`` or ``{"s3": {"addressing_style": "path"}}``.

    Remaining arguments (``processors``, ``retry``) go to :class:`~databay.outlet.Outlet`.

    Errors: every record of a push is encoded before anything is written, so a record that
    cannot be written in the format raises :class:`~databay_s3.errors.S3FormatError` naming
    it, and nothing of the push is written. A failed request raises one error naming the
    object and the endpoint (no credential): :class:`~databay_s3.errors.S3ConnectionError`
    (unreachable), :class:`~databay_s3.errors.S3AccessError` (credentials, permissions),
    :class:`~databay_s3.errors.S3BucketNotFound`, or
    :class:`~databay_s3.errors.S3OperationError` (any other refusal, e.g. a quota).
    """

    S3_KEY: MetadataKey = "S3Outlet.S3_KEY"
    """A key template for this record instead of ``key``: records with the same template
    go to the same object."""

    def __init__(
        self,
        bucket: str,
        key: str = DEFAULT_KEY,
        format: str = "jsonl",
        endpoint_url: str | None = None,
        region: str | None = None,
        *args: Any,
        profile: str | None = None,
        multipart_threshold: int = 8 * _MIB,
        multipart_chunksize: int = 8 * _MIB,
        max_concurrency: int = 4,
        extra_args: Mapping[str, Any] | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        client_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.bucket = check_name("S3Outlet", "bucket", bucket)
        self.key = key
        self._template = KeyTemplate.parse(key, "S3Outlet: key")
        self.format = formats.check_format("S3Outlet", format)
        self.endpoint = S3Endpoint("S3Outlet", endpoint_url, region, profile, connect_timeout, read_timeout,
                                   client_options)
        check_positive("S3Outlet", "multipart_threshold", multipart_threshold, integer=True)
        if check_positive("S3Outlet", "multipart_chunksize", multipart_chunksize, integer=True) < 5 * _MIB:
            raise ValueError(f"S3Outlet: multipart_chunksize must be at least 5 MiB (S3's smallest part), "
                             f"got {multipart_chunksize}")
        check_positive("S3Outlet", "max_concurrency", max_concurrency, integer=True)
        self.multipart_threshold = multipart_threshold
        self._transfer_config = TransferConfig(multipart_threshold=multipart_threshold,
                                               multipart_chunksize=multipart_chunksize,
                                               max_concurrency=max_concurrency)
        self.extra_args = _checked_extra_args(extra_args)
        self._put_arguments = {"ContentType": formats.CONTENT_TYPES[self.format], **self.extra_args}
        self._templates: dict[str, KeyTemplate] = {key: self._template}
        self._clock = UtcClock()
        self._lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------

    def on_start(self) -> None:
        """Make the boto3 client (no request is sent: an outage shows at the first push)."""
        self.endpoint.client()

    def on_shutdown(self) -> None:
        """Close the client's connections."""
        self.endpoint.close()

    # -- pushing -------------------------------------------------------------------------

    def push(self, records: list[Record], update: Update) -> None:
        """Write the records: one object per key template (and per staged batch).

        :param records: Records whose payloads are written in ``format``.
        :param update: Update object representing the particular Link transfer.
        """
        if not records:
            return
        groups = self._groups(records)
        bodies = [self._encode(template, group, records) for (template, _), group in groups.items()]
        with self._lock:
            now = self._clock.now()
        for ((template, batch_id), group), body in zip(groups.items(), bodies):
            key = self._key(template, batch_id, group[0].metadata, now, update)
            self._upload(key, body)
            if _LOGGER.isEnabledFor(logging.INFO):
                _LOGGER.info("%s wrote %d record(s) to s3://%s/%s", update, len(group), self.bucket, key)

    def _groups(self, records: list[Record]) -> dict[tuple[KeyTemplate, str | None], list[Record]]:
        """The records by key template and staged batch (``None``: not staged)."""
        metadata_keys = set().union(*(record.metadata for record in records))
        if self.S3_KEY not in metadata_keys and Stage.BATCH_ID not in metadata_keys:
            return {(self._template, None): records}  # the common push: one object
        groups: dict[tuple[KeyTemplate, str | None], list[Record]] = {}
        for index, record in enumerate(records):
            metadata = record.metadata
            text = metadata.get(self.S3_KEY)
            template = self._template if text is None else self._record_template(text, index, record)
            groups.setdefault((template, metadata.get(Stage.BATCH_ID)), []).append(record)
        return groups

    def _record_template(self, text: Any, index: int, record: Record) -> KeyTemplate:
        if isinstance(text, str):
            template = self._templates.get(text)
            if template is not None:
                return template
        template = KeyTemplate.parse(text, f"S3Outlet: metadata['{self.S3_KEY}'] of "
                                           f"{describe_record(record, index)}")
        if len(self._templates) < 1024:
            self._templates[text] = template
        return template

    def _encode(self, template: KeyTemplate, group: list[Record], records: list[Record]) -> bytes:
        try:
            return formats.encode(self.format, [record.payload for record in group])
        except formats.UnwritablePayload as exc:
            record = group[exc.index]
            index = next(i for i, r in enumerate(records) if r is record)
            raise S3FormatError(f"S3Outlet cannot write {describe_record(record, index)} as "
                                f"{self.format} to s3://{self.bucket}/{template.text}: {exc.reason}. Nothing of "
                                f"this push was written") from exc

    def _key(self, template: KeyTemplate, batch_id: str | None, metadata: dict, now: datetime.datetime,
             update: Update) -> str:
        """The key of the object of a group whose first record has ``metadata``: on a staged
        link, made of its batch's stamps, the same at every delivery."""
        if batch_id is None:
            object_uuid = uuid.uuid4().hex
        else:
            object_uuid = uuid.uuid5(_STABLE_UUID_NAMESPACE, f"{batch_id}\n{template.text}").hex
        values = {"tags": tags_text(update.tags), "ext": self.format, "uuid": object_uuid,
                  "time": metadata.get(Stage.BATCH_TIME, now), "update": metadata.get(Stage.BATCH_UPDATE, str(update))}
        try:
            return template.render(values)
        except ValueError as exc:
            raise ValueError(f"S3Outlet: key template {template.text!r} makes no valid key: {exc}") from None

    def _upload(self, key: str, body: bytes) -> None:
        client = self.endpoint.client()
        try:
            if len(body) < self.multipart_threshold:
                client.put_object(Bucket=self.bucket, Key=key, Body=body, **self._put_arguments)
            else:
                client.upload_fileobj(io.BytesIO(body), self.bucket, key, ExtraArgs=self._put_arguments,
                                      Config=self._transfer_config)
        except Exception as exc:
            raise self.endpoint.error("cannot write", f"s3://{self.bucket}/{key}", exc) from exc

    def __repr__(self) -> str:
        return f"S3Outlet(s3://{self.bucket}/{self.key})"


def _checked_extra_args(extra_args: Mapping[str, Any] | None) -> dict[str, Any]:
    if extra_args is None:
        return {}
    if not isinstance(extra_args, Mapping):
        raise TypeError(f"S3Outlet: extra_args must be a mapping of PutObject arguments, "
                        f"got {type(extra_args).__name__}")
    allowed = S3Transfer.ALLOWED_UPLOAD_ARGS
    unknown = sorted(name for name in extra_args if name not in allowed)
    if unknown:
        raise ValueError(f"S3Outlet: extra_args {unknown} are not upload arguments; allowed: {', '.join(allowed)}")
    return dict(extra_args)

