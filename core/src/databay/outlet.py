"""The :class:`Outlet`: the consuming end of a link, and :data:`MetadataKey`."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Union

from databay.lifecycle import LifecycleNode
from databay.processors import Processor

if TYPE_CHECKING:
    from databay.record import Record
    from databay.retry import RetryPolicy
    from databay.update import Update

MetadataKey = str
"""Type of the metadata-key class attributes an outlet documents, e.g.
``CSV_FILE: MetadataKey = 'CsvOutlet.CSV_FILE'``."""


def as_list(value) -> list:
    """``None`` -> ``[]``, a list -> itself, anything else -> ``[value]``."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class Outlet(LifecycleNode, ABC):
    """Abstract class representing an output of the data stream.

    Override :meth:`push` (a plain method or a coroutine) to consume records.

    :param processors: Processors applied only to the records this outlet receives.
    :param retry: a :class:`~databay.retry.RetryPolicy` (or a mapping of its settings) for
        this outlet's pushes, instead of its link's. Also settable as :attr:`retry_policy`.

    On a link with a stage, records carry stable identities in their metadata
    (``Stage.RECORD_ID``, ``Stage.BATCH_ID``) and their batch's commit time and transfer
    (``Stage.BATCH_TIME``, ``Stage.BATCH_UPDATE``), the same when a batch is delivered
    again: an outlet can use them to write nothing twice, and to name what it writes.
    """

    retry_policy: RetryPolicy | None = None
    """How this outlet's pushes are retried (``None``: as its link says)."""

    def __init__(self, processors: Union[Processor, list[Processor], None] = None, *,
                 retry: RetryPolicy | dict | None = None):
        super().__init__()
        self.processors: list[Processor] = as_list(processors)
        self._uses_coroutine = inspect.iscoroutinefunction(self.push)
        if retry is not None:
            from databay.retry import RetryPolicy

            self.retry_policy = RetryPolicy.coerce(retry)

    @abstractmethod
    def push(self, records: list[Record], update: Update) -> None | Awaitable[None]:
        """Push received data: a plain method returning nothing, or a coroutine function.

        :param records: Records produced by the link's inlets (after processing).
        :param update: the transfer this push belongs to.
        """
        raise NotImplementedError()

    def _process(self, records: list[Record]) -> list[Record]:
        for processor in self.processors:
            records = processor(records)
        return records

    async def _push(self, records: list[Record], update: Update) -> None:
        """Process and push records (databay 0.3's private entry point)."""
        records = self._process(records)
        if self._uses_coroutine:
            await self._push_coroutine(records, update)
        else:
            self.push(records, update)

    def _push_coroutine(self, records: list[Record], update: Update) -> Awaitable[None]:
        """What :meth:`push` returns to be awaited, when it is a coroutine function."""
        pushed = self.push(records, update)
        assert pushed is not None  # the call of a coroutine function is a coroutine
        return pushed

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
