"""What one transfer did: :class:`TransferStats`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from databay.update import Update

__all__ = ["TransferStats"]


@dataclass(frozen=True)
class TransferStats:
    """What one transfer did: its update, records pulled and pushed, its duration, and
    (on a staged link) how many batches an outlet gave up on (``dead_lettered``)."""

    update: Update
    records_pulled: int
    records_pushed: int
    duration: float
    dead_lettered: int = 0
