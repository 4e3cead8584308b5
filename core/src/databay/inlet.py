"""The :class:`Inlet`: the producing end of a link."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from itertools import repeat
from typing import TYPE_CHECKING, Any

from databay.lifecycle import LifecycleNode
from databay.record import Record

if TYPE_CHECKING:
    from databay.retry import RetryPolicy
    from databay.update import Update


class Inlet(LifecycleNode, ABC):
    """Abstract class representing an input of the data stream.

    Override :meth:`pull` (a plain method or a coroutine) to produce data.

    :param metadata: Global metadata attached to each record this inlet produces. It can
        be overridden or extended per record through :meth:`new_record`.
    :param retry: a :class:`~databay.retry.RetryPolicy` (or a mapping of its settings) for
        this inlet's pulls, instead of its link's. Also settable as :attr:`retry_policy`.

    An inlet that remembers where it stopped (a file offset, the last id read) can let a
    staged link keep that position with the records it produced: implement
    :meth:`get_state` and :meth:`set_state`.
    """

    retry_policy: RetryPolicy | None = None
    """How this inlet's pulls are retried (``None``: as its link says)."""

    def __init__(self, metadata: dict | None = None, *, retry: RetryPolicy | dict | None = None):
        super().__init__()
        self._metadata = metadata if metadata is not None else {}
        self._uses_coroutine = inspect.iscoroutinefunction(self.pull)
        if retry is not None:
            from databay.retry import RetryPolicy

            self.retry_policy = RetryPolicy.coerce(retry)

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

    def get_state(self) -> Any:
        """Where this inlet stopped, as JSON-able data (``None``: it keeps no position).

        On a link with a stage, this is called right after each pull and committed in the
        same transaction as the records that pull produced; on restart, the stage passes
        the last committed state to :meth:`set_state` before the first pull. So a crash
        after a pull but before its records were committed produces those records again
        instead of losing them. Return a fresh value (it is serialised at once), e.g.
        ``{"offset": 1234}``; keep it small.
        """
        return None

    def set_state(self, state: Any) -> None:
        """Continue from ``state``, a value :meth:`get_state` returned (after a JSON round trip).

        Called before the first pull of a staged link that committed a state, possibly
        after :meth:`~databay.lifecycle.LifecycleNode.on_start`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} returns a state from get_state() but does not implement set_state()")

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
        """Turn what :meth:`pull` returned into a list of records (see :func:`as_records`)."""
        return as_records(self, data)

    def __repr__(self) -> str:
        if self._metadata:
            return f"{type(self).__name__}(metadata={self._metadata})"
        return f"{type(self).__name__}()"


def as_records(inlet: Inlet, data: Any) -> list[Record]:
    """Turn what ``inlet.pull`` returned into records: a ``list`` gives one record per
    element, anything else one record; :class:`Record` elements are kept as they are."""
    if type(data) is not list and type(inlet).new_record is Inlet.new_record:
        # One value (a transfer of thousands due at once is often one record): no list to scan.
        if isinstance(data, Record):
            return [data]
        return [Record(data, _metadata_of(inlet))]
    return as_records_sharing_metadata(inlet, data)[0]


def as_records_sharing_metadata(inlet: Inlet, data: Any) -> tuple[list[Record], dict | None]:
    """:func:`as_records`, and the dict every record's metadata is a copy of (``None``
    unless all of them are: a stage then stores it once for the whole batch)."""
    if type(data) is not list:
        data = [data]
    elif not data:
        return data, None
    if type(inlet).new_record is not Inlet.new_record:
        new_record = inlet.new_record
        return [e if isinstance(e, Record) else new_record(e) for e in data], None
    # Fast path: build the shared part of the metadata once per pull.
    base = _metadata_of(inlet)
    if len(data) == 1:
        record = data[0]
        return ([record], None) if isinstance(record, Record) else ([Record(record, base)], base)
    if not any(issubclass(kind, Record) for kind in set(map(type, data))):
        # No Record among the results: one record each, looping in C.
        return list(map(Record, data, map(dict.copy, repeat(base, len(data))))), base
    copy = base.copy
    return [e if isinstance(e, Record) else Record(e, copy()) for e in data], None


def _metadata_of(inlet: Inlet) -> dict:
    """A new dict: ``inlet``'s global metadata and ``__inlet__``, its ``repr``."""
    if not inlet._metadata:
        plain_repr = _plain_reprs.get(type(inlet))
        if plain_repr is None:
            plain_repr = _plain_reprs[type(inlet)] = _plain_repr(type(inlet))
        if plain_repr:
            return {"__inlet__": plain_repr}  # what repr() gives, without the call
    return {**inlet.metadata, "__inlet__": repr(inlet)}


_plain_reprs: dict[type[Inlet], str] = {}


def _plain_repr(kind: type[Inlet]) -> str:
    """``repr()`` of an inlet of class ``kind`` without metadata, if the class does not change
    how it is made (``""`` otherwise)."""
    if kind.__repr__ is Inlet.__repr__ and kind.metadata is Inlet.metadata:
        return f"{kind.__name__}()"
    return ""
