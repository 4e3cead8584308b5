"""The :class:`Inlet`: the producing end of a link."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from itertools import repeat
from typing import TYPE_CHECKING, Any

from databay.lifecycle import LifecycleNode
from databay.record import Record

if TYPE_CHECKING:
    from databay.update import Update


class Inlet(LifecycleNode, ABC):
    """Abstract class representing an input of the data stream.

    Override :meth:`pull` (a plain method or a coroutine) to produce data.

    :param metadata: Global metadata attached to each record this inlet produces. It can
        be overridden or extended per record through :meth:`new_record`.
    """

    def __init__(self, metadata: dict | None = None):
        super().__init__()
        self._metadata = metadata if metadata is not None else {}
        self._uses_coroutine = inspect.iscoroutinefunction(self.pull)

    @property
    def metadata(self) -> dict:
        """Global metadata attached to every record produced by this inlet."""
        return self._metadata

    @abstractmethod
    def pull(self, update: Update) -> Any:
        """Produce new data.

        Return a ``list`` to produce one record per element, anything else to produce one
        record; elements that are already :class:`Record` objects are kept as they are.

        :param update: the transfer this pull belongs to.
        """
        raise NotImplementedError()

    def new_record(self, payload: Any, metadata: dict | None = None) -> Record:
        """Create a new :class:`Record` carrying this inlet's global metadata.

        :param payload: Data produced by this inlet.
        :param metadata: Local metadata overriding and/or extending the global metadata.
        """
        full = {**self._metadata, **metadata} if metadata else dict(self._metadata)
        full["__inlet__"] = repr(self)
        return Record(payload, full)

    async def _pull(self, update: Update) -> list[Record]:
        """Pull and wrap the result into records (databay 0.3's private entry point)."""
        if self._uses_coroutine:
            data = await self.pull(update)
        else:
            data = self.pull(update)
        return self._as_records(data)

    def _as_records(self, data: Any) -> list[Record]:
        """Turn what :meth:`pull` returned into a list of records."""
        if type(data) is not list:
            data = [data]
        elif not data:
            return data
        if type(self).new_record is not Inlet.new_record:
            new_record = self.new_record
            return [e if isinstance(e, Record) else new_record(e) for e in data]
        # Fast path: build the shared part of the metadata once per pull.
        base = dict(self._metadata)
        base["__inlet__"] = repr(self)
        if len(data) == 1:
            record = data[0]
            return [record if isinstance(record, Record) else Record(record, base)]
        if not any(issubclass(kind, Record) for kind in set(map(type, data))):
            # No Record among the results: one record each, looping in C.
            return list(map(Record, data, map(dict.copy, repeat(base, len(data)))))
        copy = base.copy
        return [e if isinstance(e, Record) else Record(e, copy()) for e in data]

    def __repr__(self) -> str:
        if self._metadata:
            return f"{type(self).__name__}(metadata={self._metadata})"
        return f"{type(self).__name__}()"
