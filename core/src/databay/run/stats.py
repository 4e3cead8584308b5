"""What one transfer did: :class:`TransferStats`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from databay.update import Update

__all__ = ["TransferStats"]


class TransferStats:
    """What one transfer did: its update, records pulled and pushed, its duration, and
    (on a staged link) how many batches an outlet gave up on (``dead_lettered``).

    Read-only; equal when all five are equal.
    """

    # Thousands are made per second: plain slots behind read-only properties cost a
    # third of a frozen dataclass's __init__.
    __slots__ = ("_update", "_pulled", "_pushed", "_duration", "_dead")

    def __init__(self, update: Update, records_pulled: int, records_pushed: int, duration: float,
                 dead_lettered: int = 0):
        self._update = update
        self._pulled = records_pulled
        self._pushed = records_pushed
        self._duration = duration
        self._dead = dead_lettered

    @property
    def update(self) -> Update:
        """The transfer's :class:`~databay.update.Update`."""
        return self._update

    @property
    def records_pulled(self) -> int:
        """Records the inlets produced."""
        return self._pulled

    @property
    def records_pushed(self) -> int:
        """Records handed to the outlets (per outlet, before the outlets' own processors)."""
        return self._pushed

    @property
    def duration(self) -> float:
        """Seconds the transfer took."""
        return self._duration

    @property
    def dead_lettered(self) -> int:
        """Batches an outlet of a staged link gave up on during the transfer."""
        return self._dead

    def _values(self) -> tuple:
        return (self._update, self._pulled, self._pushed, self._duration, self._dead)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TransferStats):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return (f"TransferStats(update={self._update!r}, records_pulled={self._pulled}, "
                f"records_pushed={self._pushed}, duration={self._duration}, dead_lettered={self._dead})")
