"""Inlets, outlets and outlet mixins for testing a plugin's components on links.

They make the cases a plugin's tests need without a server of their own: numbers to move,
a source that grows while a planner runs, an outlet that keeps what it is given, and two
mixins for the plugin's own outlet class, one that loses the server's answer after a push
(so a staged link delivers the same batch again) and one that times every push::

    from databay import Link
    from databay.testing import LosesTheAnswer, SequenceInlet

    class LosingS3Outlet(LosesTheAnswer, S3Outlet):
        pass

    link = Link(SequenceInlet(), LosingS3Outlet("bucket", losses=1), interval=1, stage=tmp_path / "s.stage",
                ignore_exceptions=True)
    link.transfer()   # written, then "connection reset": the batch stays pending
    link.transfer()   # the same batch again (it must replace its first copy), then the next
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from databay.inlet import Inlet
from databay.outlet import Outlet
from databay.record import Record
from databay.retry import RetryPolicy
from databay.stage import Stage
from databay.update import Update

__all__ = ["CollectingOutlet", "GrowingInlet", "LosesTheAnswer", "PushAttempt", "SequenceInlet", "TimesPushes",
           "retry_waits"]


class SequenceInlet(Inlet):
    """Pulls the next ``per_pull`` whole numbers at each pull, from 0: ``{"n": 0}``,
    ``{"n": 1}``... (or ``payload(n)``). By default it keeps no state in a stage: a new one
    counts from 0 again, as a restarted process would.

    :param per_pull: How many numbers each pull gives.
    :param payload: The payload of number ``n`` (default: ``{"n": n}``).
    :param keeps_state: Keep its position as its state (``{"next": n}``), committed with its
        records on a staged link: a new one on the same stage goes on where the last stopped.
    """

    def __init__(self, per_pull: int = 3, payload: Callable[[int], Any] | None = None, *, keeps_state: bool = False,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.per_pull = per_pull
        self.payload = payload or (lambda n: {"n": n})
        self.keeps_state = keeps_state
        self.next = 0
        """The number the next pull starts at."""

    def pull(self, update: Update) -> list[Any]:
        start, self.next = self.next, self.next + self.per_pull
        return [self.payload(n) for n in range(start, self.next)]

    def get_state(self) -> dict[str, int] | None:
        return {"next": self.next} if self.keeps_state else None

    def set_state(self, state: dict[str, int]) -> None:
        self.next = state["next"]


class GrowingInlet(Inlet):
    """A source that grows while a link runs: :meth:`produce` (in a thread of the test)
    appends whole numbers to :attr:`items` until :meth:`stop_producing`; each pull takes
    those not taken yet, as ``{field: n}``. How many it has taken is its state, committed
    with its records on a staged link.

    :param field: The payload's key.
    """

    def __init__(self, field: str = "seq", **kwargs: Any):
        super().__init__(**kwargs)
        self.field = field
        self.items: list[int] = []
        self.taken = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def produce(self, until: float | None = None, every: float = 0.005) -> None:
        """Append a number every ``every`` seconds until :meth:`stop_producing` is called (or
        ``time.monotonic()`` reaches ``until``)."""
        while not self._stopped.wait(every) and (until is None or time.monotonic() < until):
            with self._lock:
                self.items.append(len(self.items))

    def stop_producing(self) -> None:
        """End :meth:`produce`."""
        self._stopped.set()

    def pull(self, update: Update) -> list[Any]:
        with self._lock:
            new, self.taken = self.items[self.taken:], len(self.items)
        return [{self.field: n} for n in new]

    def get_state(self) -> dict[str, int]:
        return {"taken": self.taken}

    def set_state(self, state: dict[str, int]) -> None:
        self.taken = state["taken"]


class CollectingOutlet(Outlet):
    """Keeps the records it is given in :attr:`records`, after failing its first ``failures``
    pushes with ``ConnectionError`` (so that a staged link keeps them pending).

    :param failures: How many pushes fail before any succeeds.
    """

    def __init__(self, failures: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.failures = failures
        self.records: list[Record] = []

    @property
    def payloads(self) -> list[Any]:
        """The payloads of :attr:`records`."""
        return [record.payload for record in self.records]

    def push(self, records: list[Record], update: Update) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("down")
        self.records.extend(records)


class _AroundPush:
    """Runs :meth:`_before_push` and :meth:`_after_push` around the push of the outlet class
    it is mixed into, keeping that push plain or ``async`` as it is."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "push" not in vars(cls) and inspect.iscoroutinefunction(getattr(super(), "push", None)):
            cls.push = cls._push_async  # type: ignore[method-assign]

    def _before_push(self, records: list[Record]) -> Any:
        return None

    def _after_push(self, records: list[Record], before: Any, error: Exception | None) -> None:
        pass

    def push(self, records: list[Record], update: Update) -> Any:
        before = self._before_push(records)
        try:
            result = super().push(records, update)  # type: ignore[misc]
        except Exception as exc:
            self._after_push(records, before, exc)
            raise
        self._after_push(records, before, None)
        return result

    async def _push_async(self, records: list[Record], update: Update) -> Any:
        before = self._before_push(records)
        try:
            result = await super().push(records, update)  # type: ignore[misc]
        except Exception as exc:
            self._after_push(records, before, exc)
            raise
        self._after_push(records, before, None)
        return result


class LosesTheAnswer(_AroundPush):
    """Mixin for an outlet class: each push is done, then its first ``losses`` pushes raise
    ``ConnectionError`` as if the connection dropped before the server's answer came. On a
    staged link the batch stays pending and is delivered again: what the outlet wrote the
    first time must not be written twice.

    :param losses: How many answers are lost (keyword only; the outlet's own arguments
        go before).
    """

    def __init__(self, *args: Any, losses: int = 1, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.losses = losses

    def _after_push(self, records: list[Record], before: Any, error: Exception | None) -> None:
        if error is None and self.losses:
            self.losses -= 1
            raise ConnectionError("connection reset before the reply")


@dataclass(frozen=True)
class PushAttempt:
    """One push of a :class:`TimesPushes` outlet."""

    batch: str | None
    """The stage's batch id of its records (``Stage.BATCH_ID``; ``None`` without a stage)."""
    began: float
    """``time.monotonic()`` when it began."""
    ended: float
    """``time.monotonic()`` when it returned or raised."""
    error: Exception | None
    """What it raised, if it failed."""


class TimesPushes(_AroundPush):
    """Mixin for an outlet class: keeps a :class:`PushAttempt` for every push in
    :attr:`attempts` (when it began and ended, for which batch, and what it raised)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.attempts: list[PushAttempt] = []

    def _before_push(self, records: list[Record]) -> float:
        return time.monotonic()

    def _after_push(self, records: list[Record], before: float, error: Exception | None) -> None:
        batch = records[0].metadata.get(Stage.BATCH_ID) if records else None
        self.attempts.append(PushAttempt(batch, before, time.monotonic(), error))


def retry_waits(attempts: list[PushAttempt], policy: RetryPolicy) -> list[tuple[float, float, float]]:
    """How long each retry of a batch waited, against ``policy``: ``(waited, shortest,
    nominal)`` for each attempt of ``attempts`` (those of one batch, in order) after the
    first; ``shortest`` is the nominal wait less the policy's whole jitter."""
    return [(later.began - earlier.ended, policy.delay(retry, lambda: 1.0), policy.delay(retry, lambda: 0.0))
            for retry, (earlier, later) in enumerate(zip(attempts, attempts[1:]), start=1)]
