"""The :class:`Notifier` base class: tell people when transfers fail or batches are dead-lettered.

A notifier is an observer (see :func:`databay.observers.add_observer`) that turns the
engine's observer hooks into :class:`Event` objects, keeps those it was asked about,
rate-limits them so that an outage does not send thousands of messages, and hands them
to :meth:`Notifier.send` on a thread of its own, so that a slow mail server never holds up
a transfer. A concrete notifier (``databay-email``'s ``EmailNotifier``, or your own)
implements :meth:`~Notifier.send` only::

    class LogNotifier(Notifier):
        def send(self, events, held_back):
            for event in events:
                print(event.subject)

    notifier = LogNotifier(events=["failed", "dead_lettered"])
    add_observer(notifier)     # ... notifier.close() at the end flushes what is left

Plugins register notifier classes with ``databay_register_notifiers(register)``, so that a
pipeline file can name them in its ``[[notifiers]]`` tables.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import traceback
import weakref
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from databay.hookspecs import hookimpl

_LOGGER = logging.getLogger("databay.Notifier")

EVENT_KINDS = ("failed", "dead_lettered", "finished")


@dataclass(frozen=True)
class Event:
    """Something a notifier may tell: a transfer ``failed``, a batch was ``dead_lettered``,
    or a transfer ``finished``.

    :param kind: one of ``failed``, ``dead_lettered``, ``finished``.
    :param link: the link, by its tags (or its description without tags).
    :param update: the transfer, e.g. ``todos.17``.
    :param time: when it happened (Unix seconds).
    :param subject: one line saying what happened.
    :param details: the rest: error, traceback, stage and batch, or the transfer's figures.
    """

    kind: str
    link: str
    update: str
    time: float
    subject: str
    details: str


class Notifier(ABC):
    """Base class of notifiers: observer hooks in, rate-limited :class:`Event` batches out.

    :param events: which kinds of event to tell about (``failed``, ``dead_lettered``,
        ``finished``). Default: failures and dead letters.
    :param max_messages: at most this many messages per ``per_seconds``; events beyond
        that are held back and sent together in one message once the window allows.
    :param per_seconds: the rate-limit window, in seconds.
    """

    def __init__(self, events: Iterable[str] = ("failed", "dead_lettered"), max_messages: int = 10,
                 per_seconds: float = 3600.0):
        events = [events] if isinstance(events, str) else list(events)
        unknown = [kind for kind in events if kind not in EVENT_KINDS]
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown event {unknown[0]!r}; events are "
                             f"{', '.join(EVENT_KINDS)}")
        if isinstance(max_messages, bool) or not isinstance(max_messages, int) or max_messages < 1:
            raise ValueError(f"{type(self).__name__}: max_messages must be a positive integer, got {max_messages!r}")
        if isinstance(per_seconds, bool) or not isinstance(per_seconds, (int, float)) or per_seconds <= 0:
            raise ValueError(f"{type(self).__name__}: per_seconds must be a positive number, got {per_seconds!r}")
        self.events = frozenset(events)
        self.max_messages = max_messages
        self.per_seconds = float(per_seconds)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._sent: deque[float] = deque()  # when the messages of the current window went out
        self._held: list[Event] = []
        self._limited = False
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        atexit.register(_close_at_exit, weakref.ref(self))  # a weak reference: never kept alive by atexit

    # -- what concrete notifiers implement ---------------------------------------------

    @abstractmethod
    def send(self, events: list[Event], held_back: int) -> None:
        """Deliver one message about ``events`` (oldest first).

        ``held_back`` is how many of them the rate limit held back (0 for a message sent
        when it happened). Called on the notifier's own thread; an exception is logged and
        the events are dropped.
        """

    # -- observer hooks ------------------------------------------------------------------

    @hookimpl
    def databay_transfer_failed(self, link, update, exception) -> None:
        if "failed" in self.events:
            trace = "".join(traceback.format_exception(exception))
            self._notify(Event("failed", _link_name(link), str(update), time.time(),
                               f"transfer {update} failed: {type(exception).__name__}: {exception}", trace))

    @hookimpl
    def databay_batch_dead_lettered(self, link, update, outlet, dead_letter, exception) -> None:
        if "dead_lettered" in self.events:
            details = (f"stage: {dead_letter.stage}\noutlet: {dead_letter.outlet} ({outlet})\n"
                       f"batch: {dead_letter.batch_id} ({dead_letter.size} records)\n"
                       f"attempts: {dead_letter.attempts}\nerror: {dead_letter.error}\n\n"
                       f"Replay it with `databay stage PIPELINE --replay` once the outlet works again.\n\n"
                       f"{dead_letter.traceback}")
            self._notify(Event("dead_lettered", _link_name(link), str(update), time.time(),
                               f"batch {dead_letter.batch_id} dead-lettered for {dead_letter.outlet} in transfer "
                               f"{update}: {dead_letter.error}", details))

    @hookimpl
    def databay_transfer_finished(self, link, update, stats) -> None:
        if "finished" in self.events:
            details = (f"records pulled: {stats.records_pulled}\nrecords pushed: {stats.records_pushed}\n"
                       f"dead-lettered batches: {stats.dead_lettered}\nduration: {stats.duration:.3f} s")
            self._notify(Event("finished", _link_name(link), str(update), time.time(),
                               f"transfer {update} finished: {stats.records_pushed} records pushed", details))

    # -- rate limiting and delivery -------------------------------------------------------

    def _notify(self, event: Event) -> None:
        if self._closed:
            return
        self._queue.put(event)
        if self._worker is None:
            with self._lock:
                if self._worker is None:
                    self._worker = threading.Thread(target=self._work, name=f"databay-{type(self).__name__}",
                                                    daemon=True)
                    self._worker.start()

    def _work(self) -> None:
        while True:
            timeout = self._time_until_allowed() if self._held else None
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = _NOTHING
            if item is _STOP:
                self._flush_held(force=True)
                return
            if item is not _NOTHING:
                self._held.append(item)
                while True:  # everything that arrived together goes in one message
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is _STOP:
                        self._flush_held(force=True)
                        return
                    self._held.append(more)
            self._flush_held(force=False)

    def _time_until_allowed(self) -> float:
        self._forget_old_sends()
        if len(self._sent) < self.max_messages:
            return 0.0
        return max(0.0, self._sent[0] + self.per_seconds - time.monotonic())

    def _forget_old_sends(self) -> None:
        now = time.monotonic()
        while self._sent and self._sent[0] <= now - self.per_seconds:
            self._sent.popleft()

    def _flush_held(self, force: bool) -> None:
        if not self._held:
            return
        limited = self._time_until_allowed() > 0
        if limited and not force:
            self._limited = True  # sent together once the window allows
            return
        events, self._held = self._held, []
        held_back = len(events) if (limited or self._limited) else 0
        self._limited = False
        self._sent.append(time.monotonic())
        try:
            self.send(events, held_back)
        except Exception:
            _LOGGER.exception("%s could not send a message about %d event(s)", self, len(events))

    def close(self, timeout: float = 30.0) -> None:
        """Send what is left (ignoring the rate limit, in one message) and stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            worker = self._worker
        if worker is not None:
            self._queue.put(_STOP)
            worker.join(timeout)

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(events={sorted(self.events)})"


_STOP = object()
_NOTHING = object()


def _close_at_exit(ref: weakref.ref[Notifier]) -> None:
    notifier = ref()
    if notifier is not None:
        notifier.close()


def _link_name(link: Any) -> str:
    tags = getattr(link, "tags", None)
    return ".".join(tags) if tags else repr(link)
