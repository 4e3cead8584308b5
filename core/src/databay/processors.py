"""Processors, and the protocol of those that hold records between calls.

A processor is any callable ``(records) -> records``, applied by a link to all its
records or by an outlet to the records it receives. Most keep nothing. A **stateful
processor** keeps some of the records it was given and releases them at a later call
(:class:`~databay.support.buffers.Buffer` is one). The engine must know about those
records: it delivers them when a planner shuts down instead of dropping them, it must
not acknowledge a staged batch while a processor still holds part of it, and after a
failed delivery the records held are delivered again from the stage rather than twice.
A processor tells the engine all this by implementing :class:`StatefulProcessor`.

A public module: a plugin's processor implements :class:`StatefulProcessor` from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from databay.record import Record

__all__ = ["Processor", "StatefulProcessor", "stateful_processors"]

Processor = Callable[[list["Record"]], list["Record"]]
"""A processor: takes a list of records, returns the records to pass on."""


@runtime_checkable
class StatefulProcessor(Protocol):
    """A processor that holds records between calls; implement these three methods.

    - :meth:`held` says what it holds now. The engine reads it at shutdown (anything held
      is flushed) and on links with a stage (a batch part of which is held is not
      acknowledged yet; records a link-level processor holds are kept in the stage).
    - :meth:`request_flush` makes the **next call** release everything held, whatever
      its own rules say. The engine calls it at shutdown and then runs one transfer that
      pulls nothing, so the released records go on through the link as usual.
    - :meth:`discard` drops what is held **without** releasing it. The engine calls it
      when those records will come again: a staged outlet's push failed (the batches are
      delivered again whole), or a staged link's commit failed (the link feeds the held
      records through its processors again at its next transfer).

    To survive a restart the processor needs nothing more: a stage keeps what it holds
    (pending batches for an outlet processor, the stage's intake for a link processor)
    and, after a restart, calls the new processor with those records again, in order.
    So calling a fresh processor with the records :meth:`held` listed must bring it back
    to holding them (a count or time threshold may of course release them at once).
    """

    def __call__(self, records: list[Record]) -> list[Record]:
        """Take ``records``; return what to pass on now (possibly held records too)."""
        ...

    def held(self) -> Sequence[Record]:
        """The records held now, oldest first (``[]`` when none)."""
        ...

    def request_flush(self) -> None:
        """Release everything held at the next call."""
        ...

    def discard(self) -> None:
        """Forget what is held, without releasing it."""
        ...


def stateful_processors(processors: Iterable[object]) -> list[StatefulProcessor]:
    """The :class:`StatefulProcessor` s among ``processors``."""
    return [p for p in processors if isinstance(p, StatefulProcessor)]
