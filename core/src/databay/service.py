"""The :class:`Service` base class: something that runs beside a pipeline, on its planner's loop.

A service is a component a plugin registers with ``databay_register_services``, like an
inlet or a notifier. A pipeline file turns one on with a top-level table named after it,
whose keys are the constructor's arguments, and ``databay run`` also offers it as an
option (``--web HOST:PORT`` for databay-web's dashboard)::

    [web]
    listen = "127.0.0.1:8080"

While ``databay run`` (or :meth:`databay.Pipeline.run`) runs the pipeline, each service:

1. :meth:`Service.prepare` in the calling thread, before the planner starts: check what
   can be checked and take what may be refused (a listening socket), so that a problem
   stops the run with a clear message (:class:`~databay.errors.ServiceError`) before any
   transfer;
2. :meth:`Service.start` on the planner's event loop, after every ``on_start`` and before
   the first transfer (through the ``databay_planner_started`` hook);
3. :meth:`Service.stop` on the loop, after the last ``on_shutdown``
   (``databay_planner_stopped``);
4. :meth:`Service.close` at the end, in the calling thread, whatever happened.

A service is an observer too: methods marked with :data:`databay.hookimpl` and named after
the observer hooks (``databay_transfer_finished`` ...) see the pipeline's transfers. Keep
them quick: they run on the transfer's thread. ``databay run --once`` starts no service.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from databay.hookspecs import hookimpl

if TYPE_CHECKING:
    from databay.pipeline.model import Pipeline

__all__ = ["Service"]


class Service(ABC):
    """Base class of services (see the module's documentation).

    Subclasses implement :meth:`start` and :meth:`stop` (coroutines, on the planner's loop),
    and may override :meth:`prepare` (calling ``super().prepare(pipeline)``) and :meth:`close`.
    """

    option: ClassVar[str | None] = None
    """The constructor argument that ``databay run --NAME VALUE`` sets (``NAME`` being the
    service's registered name), or ``None`` for no such option. The value given on the
    command line is checked like the same key in the pipeline's table, and wins over it."""
    option_metavar: ClassVar[str] = "VALUE"
    """How ``databay run --help`` names the option's value."""
    option_help: ClassVar[str] = ""
    """What ``databay run --help`` says about the option."""

    pipeline: Pipeline | None = None
    """The pipeline it serves, from :meth:`prepare` on."""
    debug: bool = False
    """Whether the run was asked for tracebacks (``databay --debug run``): ``databay run``
    sets it before :meth:`prepare`, so that a service may show more detail of errors."""

    def prepare(self, pipeline: Pipeline) -> None:
        """Get ready to serve ``pipeline``: called before its planner starts, in the thread
        that runs it.

        :raises databay.errors.ServiceError: the service cannot run (a port in use, say);
            the pipeline then does not start.
        """
        self.pipeline = pipeline

    @abstractmethod
    async def start(self) -> None:
        """Start serving, on the planner's event loop (before its first transfer)."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop serving, on the planner's loop (after every ``on_shutdown``)."""

    def close(self) -> None:  # noqa: B027 - optional, not abstract
        """Release what :meth:`prepare` took; called once the run is over, also when it
        failed or never started. The default does nothing."""

    def _serves(self, planner: Any) -> bool:
        return self.pipeline is not None and planner is self.pipeline.planner

    @hookimpl
    async def databay_planner_started(self, planner: Any) -> None:
        if self._serves(planner):
            await self.start()

    @hookimpl
    async def databay_planner_stopped(self, planner: Any) -> None:
        if self._serves(planner):
            await self.stop()
