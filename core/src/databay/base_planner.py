"""The :class:`BasePlanner`: what every planner does, whatever schedules its links.

A planner implements four extension points, :meth:`~BasePlanner.schedule`,
:meth:`~BasePlanner.unschedule`, :meth:`~BasePlanner.start_planner` and
:meth:`~BasePlanner.shutdown_planner`, and may override :meth:`~BasePlanner.on_exception`
and :attr:`~BasePlanner.running`. databay 0.3 named them ``_schedule``, ``_unschedule``,
``_start_planner``, ``_shutdown_planner`` and ``_on_exception``: a planner written for 0.3
implements those and keeps working, each name standing for the other.
"""

from __future__ import annotations

import atexit
import logging
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Union

from databay.errors import MissingLinkError
from databay.link import Link
from databay.outlet import as_list
from databay.run.flushing import flush_buffers

_LOGGER = logging.getLogger("databay.BasePlanner")


_EXTENSION_POINTS = (("schedule", "_schedule"), ("unschedule", "_unschedule"),
                     ("start_planner", "_start_planner"), ("shutdown_planner", "_shutdown_planner"))


def _calling(name: str) -> Callable[..., Any]:
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = f"calls_{name}"
    call.__doc__ = f"Calls :meth:`{name}`, which this planner implements."
    return call


class BasePlanner(ABC):
    """Base abstract class for a job planner, scheduling link transfers on their intervals.

    Subclasses implement :meth:`schedule`, :meth:`unschedule`, :meth:`start_planner`,
    :meth:`shutdown_planner` and the :attr:`running` property (or databay 0.3's
    underscore names of the first four).

    :param links: Links that should be added and scheduled.
    :param ignore_exceptions: Whether exceptions should be logged and ignored (``True``)
        or shut the planner down (``False``).
    :param immediate_transfer: Whether to transfer every link that has
        ``Link.immediate_transfer`` set once as soon as the planner starts.
    :param shutdown_at_exit: Whether to shut down gracefully when the process exits.

    At shutdown, once transfers stopped and before ``on_shutdown``, records that
    :class:`~databay.support.buffers.Buffer` processors still hold are delivered to the
    outlets by one transfer per link that pulls nothing (see
    :mod:`databay.support.flushing`). Set :attr:`flush_buffers_on_shutdown` to ``False``
    to leave them in the Buffers, as databay 0.3 did.
    """

    flush_buffers_on_shutdown: bool = True
    """Whether shutting down delivers what Buffers still hold (before ``on_shutdown``)."""

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        # A planner written for databay 0.3 implements the underscore names: they stand
        # for the public ones it leaves abstract.
        for public, private in _EXTENSION_POINTS:
            if getattr(getattr(cls, public), "__isabstractmethod__", False) and \
                    getattr(cls, private) is not getattr(BasePlanner, private):
                setattr(cls, public, _calling(private))

    def __init__(
        self,
        links: Union[Link, list[Link], None] = None,
        ignore_exceptions: bool = False,
        immediate_transfer: bool = True,
        shutdown_at_exit: bool = False,
    ):
        self._links: list[Link] = []
        self.immediate_transfer = immediate_transfer
        self._ignore_exceptions = ignore_exceptions
        self.shutdown_at_exit = shutdown_at_exit
        if links is not None:
            self.add_links(links)
        # A weak reference: registering the planner itself would keep it alive forever.
        atexit.register(_at_exit, weakref.ref(self))

    @property
    def links(self) -> list[Link]:
        """Links currently handled by this planner."""
        return self._links

    @property
    def ignore_exceptions(self) -> bool:
        """Whether exceptions are logged and ignored instead of shutting the planner down."""
        return self._ignore_exceptions

    def add_links(self, links: Union[Link, list[Link]]) -> None:
        """Add and schedule links; works while the planner is running.

        :raises TypeError: if one of them is not a :class:`Link`.
        """
        links = as_list(links)
        for link in links:
            if not isinstance(link, Link):
                raise TypeError(f"Provided link is not an instance of Link(), found: {link!r}")
        known = {id(link) for link in self._links}
        for link in links:
            if id(link) in known:
                _LOGGER.warning("Link already added, ignored: %s", link)
                continue
            known.add(id(link))
            self._links.append(link)
            try:
                self._schedule(link)
            except BaseException:
                self._links = [known for known in self._links if known is not link]
                raise
            _LOGGER.info("Added link: %s", link)

    def remove_links(self, links: Union[Link, list[Link]]) -> None:
        """Unschedule and remove links; works while the planner is running.

        :raises MissingLinkError: if one of them is not in this planner.
        """
        links = as_list(links)
        for link in links:
            if not any(link is known for known in self._links):
                raise MissingLinkError(f"Planner does not contain the link: {link}")
        for link in links:
            self._unschedule(link)
            self._links = [known for known in self._links if known is not link]
            _LOGGER.info("Removed link: %s", link)

    def start(self) -> None:
        """Start this planner: ``on_start`` for every node, immediate transfers, then scheduling.

        With ``immediate_transfer=True`` each link whose ``immediate_transfer`` is set
        transfers once before its interval first elapses.
        """
        _LOGGER.info("Starting %s", self)
        for link in list(self._links):
            try:
                link.on_start()
            except Exception as exc:
                error = RuntimeError(f'on_start link exception: "{exc}" for link: {link}')
                error.__cause__ = exc
                self._on_exception(error, link)
                if not self._ignore_exceptions:
                    return
        if self.immediate_transfer:
            for link in list(self._links):
                if not link.immediate_transfer:
                    continue
                try:
                    link.transfer()
                except Exception as exc:
                    self._on_exception(exc, link)
                    if not self._ignore_exceptions:
                        return
        self._start_planner()

    def shutdown(self, wait: bool = True) -> None:
        """Stop scheduling, deliver what Buffers hold, then call ``on_shutdown`` on every node.

        :param wait: let transfers in flight finish first (if the planner supports it);
            without it, Buffers are not flushed.
        """
        _LOGGER.info("Shutting down %s", self)
        self._shutdown_planner(wait)
        if wait and self.flush_buffers_on_shutdown:
            flush_buffers(self._links)
        for link in list(self._links):
            try:
                link.on_shutdown()
            except Exception as exc:
                _LOGGER.exception(f'on_shutdown link exception: "{exc}" for link: {link}')

    def purge(self) -> None:
        """Unschedule and remove all links; works while the planner is running."""
        for link in list(self._links):
            self._unschedule(link)
        self._links = []

    def force_transfer(self) -> None:
        """Transfer every link once, now."""
        for link in list(self._links):
            try:
                link.transfer()
            except Exception as exc:
                self._on_exception(exc, link)

    def on_exception(self, exception: Exception, link: Link | None = None) -> None:
        """Called when a transfer (or a link's ``on_start``) raised ``exception``: log it;
        unless ignoring exceptions, shut the planner down. Override to handle it otherwise."""
        where = f"\n\nRaised when executing {link}" if link is not None else ""
        _LOGGER.error(f"{exception}{where}", exc_info=exception)
        if not self._ignore_exceptions and self.running:
            self.shutdown(wait=False)

    def _on_exception(self, exception: Exception, link: Link | None = None) -> None:
        """databay 0.3's name of :meth:`on_exception` (what the planner calls)."""
        self.on_exception(exception, link)

    def _at_exit_callback(self) -> None:
        if self.shutdown_at_exit and self.running:
            _LOGGER.info('Attempting to shutdown planner "%s" gracefully.', self)
            self.shutdown(True)

    @abstractmethod
    def schedule(self, link: Link) -> None:
        """Add ``link.transfer`` to the scheduling system; set its job with ``link.set_job``.

        Called by :meth:`add_links`, also while running (from any thread).
        """

    @abstractmethod
    def unschedule(self, link: Link) -> None:
        """Remove ``link`` from the scheduling system (``link.job`` is its job)."""

    @abstractmethod
    def start_planner(self) -> None:
        """Begin scheduling (called by :meth:`start` after every ``on_start``)."""

    @abstractmethod
    def shutdown_planner(self, wait: bool = True) -> None:
        """Stop scheduling (called by :meth:`shutdown` before every ``on_shutdown``)."""

    # databay 0.3's names, which the planner calls: a 0.3 planner overrides them.
    def _schedule(self, link: Link) -> None:
        self.schedule(link)

    def _unschedule(self, link: Link) -> None:
        self.unschedule(link)

    def _start_planner(self) -> None:
        self.start_planner()

    def _shutdown_planner(self, wait: bool = True) -> None:
        self.shutdown_planner(wait)

    @property
    def running(self) -> bool:
        """Whether this planner is currently running. Override it; ``True`` by default."""
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}(links={len(self._links)}, shutdown_at_exit={self.shutdown_at_exit})"


def _at_exit(ref: weakref.ref[BasePlanner]) -> None:
    planner = ref()
    if planner is not None:
        planner._at_exit_callback()
