"""The :class:`Buffer` processor: accumulate records, release them when controllers agree.

A Buffer is a :class:`~databay.processors.StatefulProcessor`: planners deliver what it holds
when they shut down, and staged links keep what it holds in their stage.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Union

from databay.outlet import as_list
from databay.record import Record

_LOGGER = logging.getLogger("databay.Buffer")

Controller = Callable[[list[Record]], bool]


class Buffer:
    """A processor that stores records and releases them all at once when controllers say so.

    Controllers are called with the stored records and return ``True`` to release. Custom
    controllers run first (in order), then the count controller, then the time
    controller; evaluation stops as soon as the decision is known.

    :param count_threshold: release once more than this many records are stored (with
        ``count_threshold=10``, at the 11th). ``None`` disables it.
    :param time_threshold: release once this many seconds passed since records were first
        stored. ``None`` disables it.
    :param custom_controllers: more controllers, ``(records) -> bool``.
    :param on_reset: called every time :meth:`reset` runs.
    :param conjugate_controllers: release only when all controllers agree (AND) instead of
        as soon as one does (OR, the default).

    Set :attr:`flush` to ``True`` to release everything on the next call regardless.
    A controller that raises is logged and skipped: the others decide, as in databay 0.3.
    """

    def __init__(
        self,
        count_threshold: int | None = None,
        time_threshold: float | None = None,
        custom_controllers: Union[Controller, list[Controller], None] = None,
        on_reset: Callable[[], None] | None = None,
        conjugate_controllers: bool = False,
    ):
        self.count_threshold = count_threshold
        self.time_threshold = time_threshold
        self.custom_controllers: list[Controller] = as_list(custom_controllers)
        self.on_reset = on_reset
        self.conjugate_controllers = conjugate_controllers
        self.records: list[Record] = []
        self.time_start: float | None = None
        self.flush = False
        self._lock = threading.Lock()

    def _count_controller(self, records: list[Record]) -> bool:
        threshold = self.count_threshold
        assert threshold is not None  # get_controllers() lists this controller only when it is set
        return len(records) > threshold

    def _time_controller(self, records: list[Record]) -> bool:
        if self.time_start is None:
            if not records:  # the clock starts with the first stored record, not an empty call
                return False
            self.time_start = time.time()
        threshold = self.time_threshold
        assert threshold is not None  # get_controllers() lists this controller only when it is set
        return time.time() >= self.time_start + threshold

    def get_controllers(self) -> list[Controller]:
        """Return the list of currently active controllers."""
        controllers = list(self.custom_controllers)
        if self.count_threshold is not None:
            controllers.append(self._count_controller)
        if self.time_threshold is not None:
            controllers.append(self._time_controller)
        return controllers

    def _should_release(self) -> bool:
        if self.flush:
            return True
        controllers = self.get_controllers()
        if not controllers:
            return False
        for controller in controllers:
            try:
                decision = bool(controller(self.records))
            except Exception:
                _LOGGER.exception("Buffer controller %s failed; skipping it", controller)
                continue
            if decision != self.conjugate_controllers:  # OR: first True wins; AND: first False
                return decision
        return self.conjugate_controllers

    def __call__(self, records: list[Record]) -> list[Record]:
        """Store ``records``; return everything stored if it is time to release, else ``[]``."""
        with self._lock:
            if self.time_start is None and (records or self.records):
                self.time_start = time.time()
            self.records.extend(records)
            if not self._should_release():
                return []
            released = self.records
            self.reset()
            return released

    # -- the StatefulProcessor protocol --------------------------------------------

    def held(self) -> list[Record]:
        """The records stored now (:attr:`records`)."""
        return self.records

    def request_flush(self) -> None:
        """Release everything stored at the next call (sets :attr:`flush`)."""
        self.flush = True

    def discard(self) -> None:
        """Drop the stored records without counting as a release (no ``on_reset``): they
        come again (a staged link delivers the batches they came from again)."""
        with self._lock:
            self.records = []
            self.time_start = None

    _discard = discard

    def reset(self) -> None:
        """Empty the buffer and reset the controllers' counters and the flush flag."""
        self.records = []
        self.time_start = None
        self.flush = False
        if self.on_reset is not None:
            self.on_reset()
