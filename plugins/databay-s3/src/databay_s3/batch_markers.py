"""Stable keys for staged batches whose key template holds the time or the transfer.

On a link with a stage, a batch is pushed again when its first push was not acknowledged
(a crash, a lost reply, a replayed dead letter). Its records carry the same batch id every
time, so ``{uuid}`` can be derived from it; but ``{time}`` and ``{update}`` are those of the
push, and would name a second object. So before the first push of such a batch the outlet
writes a small *marker* object, ``<prefix><stage uid>/<batch>.json``, holding the time and
transfer it used; a later push of the batch reads them back and writes the same keys again,
overwriting rather than duplicating.

A marker is deleted once its batch is known to be acknowledged: batches of one stage reach
an outlet in order, each acknowledged before the next is pushed, so when the next batch of
the same stage arrives, the markers of the batches pushed successfully before it can go
(in one ``DeleteObjects``). Markers left by a process that died, or of a dead-lettered
batch (kept so that a replay writes the same keys), stay: a lifecycle rule expiring the
prefix after a few days bounds them.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
from collections import OrderedDict

from databay_s3.connection import S3Endpoint

_LOGGER = logging.getLogger("databay.S3Outlet")

DEFAULT_PREFIX = "_databay/batches/"
_REMEMBERED = 4096  # first deliveries kept in memory (the rest are read back from the bucket)


class BatchMarkers:
    """The first delivery (time and transfer) of each staged batch, kept in ``bucket`` under ``prefix``."""

    def __init__(self, endpoint: S3Endpoint, bucket: str, prefix: str):
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix
        self._first: OrderedDict[str, tuple[datetime.datetime, str]] = OrderedDict()
        self._done: dict[str, set[str]] = {}  # stage uid -> batch ids pushed successfully, markers not yet deleted
        self._lock = threading.Lock()

    def key(self, batch_id: str) -> str:
        """The marker's key for ``batch_id`` (``'<stage uid>:<batch>'``)."""
        uid, _, number = batch_id.rpartition(":")
        return f"{self.prefix}{uid}/{number}.json"

    def first_delivery(self, batch_id: str, now: datetime.datetime, update: str) -> tuple[datetime.datetime, str]:
        """The time and transfer of the first push of ``batch_id``: those of an earlier push
        (remembered, or read from its marker), else ``now`` and ``update``, recorded first.

        :raises S3Error: the marker cannot be read or written.
        """
        with self._lock:
            known = self._first.get(batch_id)
        if known is not None:
            return known
        key = self.key(batch_id)
        found = self._read(key)
        first = found if found is not None else (now, update)
        if found is None:
            self._write(key, batch_id, *first)
        with self._lock:
            self._first[batch_id] = first
            while len(self._first) > _REMEMBERED:
                self._first.popitem(last=False)
        return first

    def pushed(self, batch_ids: set[str]) -> None:
        """The batches in ``batch_ids`` were pushed successfully (their markers go later, see the module)."""
        with self._lock:
            for batch_id in batch_ids:
                self._done.setdefault(batch_id.rpartition(":")[0], set()).add(batch_id)

    def collect(self, batch_ids: set[str]) -> None:
        """A push of ``batch_ids`` begins: delete the markers of the batches of the same stages
        pushed successfully before (so acknowledged), except these. A failure is logged; those
        markers are tried again at the next push."""
        with self._lock:
            acknowledged: list[str] = []
            for uid in {batch_id.rpartition(":")[0] for batch_id in batch_ids}:
                done = self._done.get(uid)
                if done:
                    acknowledged += done - batch_ids
                    done &= batch_ids
        for start in range(0, len(acknowledged), 1000):
            self._delete(acknowledged[start:start + 1000])

    def _read(self, key: str) -> tuple[datetime.datetime, str] | None:
        client = self.endpoint.client()
        try:
            body = client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
        except Exception as exc:
            raise self.endpoint.error("cannot read the batch marker", f"s3://{self.bucket}/{key}", exc) from exc
        try:
            marker = json.loads(body)
            return datetime.datetime.fromisoformat(marker["time"]), str(marker["update"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{self.endpoint.owner}: the batch marker s3://{self.bucket}/{key} is not one this "
                             f"outlet wrote ({exc}); remove it to write the batch under new keys") from None

    def _write(self, key: str, batch_id: str, time: datetime.datetime, update: str) -> None:
        body = json.dumps({"batch": batch_id, "time": time.isoformat(), "update": update}).encode()
        try:
            self.endpoint.client().put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        except Exception as exc:
            raise self.endpoint.error("cannot write the batch marker", f"s3://{self.bucket}/{key}", exc) from exc

    def _delete(self, batch_ids: list[str]) -> None:
        keys = {self.key(batch_id): batch_id for batch_id in batch_ids}
        try:
            answer = self.endpoint.client().delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True})
            errors = answer.get("Errors", [])
            failed = {error.get("Key") for error in errors}
            reason = errors[0].get("Message", "") if errors else ""
        except Exception as exc:
            failed = set(keys)
            reason = str(self.endpoint.error("cannot delete batch markers", f"s3://{self.bucket}/{self.prefix}", exc))
        with self._lock:
            for key, batch_id in keys.items():
                if key in failed:  # tried again at the next push
                    self._done.setdefault(batch_id.rpartition(":")[0], set()).add(batch_id)
                else:
                    self._first.pop(batch_id, None)
        if failed:
            _LOGGER.warning("%s: %d of %d batch marker(s) under s3://%s/%s were not deleted (%s); trying again at "
                            "the next push", self.endpoint.owner, len(failed), len(keys), self.bucket, self.prefix,
                            reason)
