"""The :class:`Link`: which inlets feed which outlets, and how often."""

from __future__ import annotations

import datetime
import itertools
import logging
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Union

from databay.errors import InvalidNodeError
from databay.inlet import Inlet
from databay.outlet import Outlet, as_list
from databay.update import Update

if TYPE_CHECKING:
    import os

    from databay.engine import Engine
    from databay.retry import RetryPolicy
    from databay.stage import Stage
    from databay.staged_transfer import StagedLink
    from databay.transfer import TransferStats

__all__ = ["Link", "Update"]

_LOGGER = logging.getLogger("databay.Link")

Processor = Callable[[list], list]
Grouper = Callable[[list], list]


def to_timedelta(interval: Union[datetime.timedelta, int, float]) -> datetime.timedelta:
    """Coerce a link interval given as seconds into a :class:`datetime.timedelta`."""
    if isinstance(interval, datetime.timedelta):
        result = interval
    elif isinstance(interval, (int, float)) and not isinstance(interval, bool):
        result = datetime.timedelta(seconds=interval)
    else:
        raise TypeError(
            f"Link interval must be a datetime.timedelta or a number of seconds, "
            f"found: {interval!r}"
        )
    if result <= datetime.timedelta(0):
        raise ValueError(f"Link interval must be positive, found: {result}")
    return result


class Link:
    """Link in the relationship graph: moves records from its inlets to its outlets.

    :param inlets: inlets to add to this link.
    :param outlets: outlets to add to this link.
    :param interval: how often to transfer: a :class:`datetime.timedelta`, or an ``int``
        or ``float`` number of seconds.
    :param tags: tags of this link; ``str(update)`` starts with them. Default ``[]``.
    :param copy_records: give each outlet records no other outlet can modify. Default ``True``.
    :param ignore_exceptions: log and ignore exceptions of inlets, outlets, processors and
        groupers instead of raising them. Default ``False``.
    :param catch_exceptions: deprecated alias of ``ignore_exceptions``.
    :param inlet_concurrency: how many inlets may pull at the same time. Default ``9999``.
    :param immediate_transfer: whether planners with ``immediate_transfer=True`` transfer
        this link once as soon as they start. Default ``True``.
    :param processors: callables ``(records) -> records`` applied to all records.
    :param groupers: callables ``(batches) -> batches`` splitting records into batches.
    :param name: deprecated, use ``tags``.
    :param stage: a durable stage for this link: a path to its SQLite file (created if
        needed) or a :class:`~databay.stage.Stage`. Records are committed to it before any
        outlet sees them and leave it once every outlet has taken them; see
        ``docs/reliability.md``. Default ``None``: no stage, as in databay 0.3.
    :param retry: a :class:`~databay.retry.RetryPolicy` (or a mapping of its settings) for
        the pulls and pushes of this link's inlets and outlets that have none of their own.
    """

    def __init__(
        self,
        inlets: Union[Inlet, list[Inlet]],
        outlets: Union[Outlet, list[Outlet]],
        interval: Union[datetime.timedelta, int, float],
        tags: Union[str, list[str], None] = None,
        copy_records: bool = True,
        ignore_exceptions: bool = False,
        catch_exceptions: bool | None = None,
        inlet_concurrency: int = 9999,
        immediate_transfer: bool = True,
        processors: Union[Processor, list[Processor], None] = None,
        groupers: Union[Grouper, list[Grouper], None] = None,
        name: str | None = None,
        stage: Union[str, os.PathLike, Stage, None] = None,
        retry: Union[RetryPolicy, dict, None] = None,
    ):
        self._inlets: list[Inlet] = []
        self._outlets: list[Outlet] = []
        self.add_inlets(inlets)
        self.add_outlets(outlets)
        self._interval = to_timedelta(interval)
        if name is not None:
            warnings.warn(
                "'name' parameter was deprecated in 0.2.0, use 'tags' instead.",
                DeprecationWarning,
                stacklevel=2,
            )
            tags = [name]
        self._tags: list[str] = [tags] if isinstance(tags, str) else list(tags or [])
        self._copy_records = copy_records
        self._ignore_exceptions = ignore_exceptions
        if catch_exceptions is not None:
            warnings.warn(
                "'catch_exceptions' was renamed to 'ignore_exceptions'.",
                DeprecationWarning,
                stacklevel=2,
            )
            self._ignore_exceptions = catch_exceptions
        if not isinstance(inlet_concurrency, int) or inlet_concurrency < 1:
            raise ValueError(f"inlet_concurrency must be a positive int, found: {inlet_concurrency!r}")
        self.inlet_concurrency = inlet_concurrency
        self.immediate_transfer = immediate_transfer
        self.processors: list[Processor] = as_list(processors)
        self.groupers: list[Grouper] = as_list(groupers)
        self._job: Any = None
        self._counter = itertools.count()
        self._engine: Engine | None = None
        self.retry_policy: RetryPolicy | None = None
        """How pulls and pushes are retried when the node has no policy of its own."""
        if retry is not None:
            from databay.retry import RetryPolicy

            self.retry_policy = RetryPolicy.coerce(retry)
        self._staging: StagedLink | None = None
        if stage is not None:
            from databay.staged_transfer import StagedLink

            self._staging = StagedLink(stage)

    # -- the graph ---------------------------------------------------------------

    @property
    def inlets(self) -> list[Inlet]:
        """Inlets handled by this link."""
        return self._inlets

    @property
    def outlets(self) -> list[Outlet]:
        """Outlets handled by this link."""
        return self._outlets

    def add_inlets(self, inlets: Union[Inlet, list[Inlet]]) -> None:
        """Add inlets to this link.

        :raises TypeError: if one is not an :class:`Inlet`.
        :raises InvalidNodeError: if this link already contains one of them.
        """
        self._inlets = self._inlets + self._checked_new(inlets, Inlet, self._inlets, "inlet")

    def remove_inlets(self, inlets: Union[Inlet, list[Inlet]]) -> None:
        """Remove inlets from this link.

        :raises InvalidNodeError: if this link doesn't contain one of them.
        """
        self._inlets = self._without(inlets, self._inlets, "inlet")

    def add_outlets(self, outlets: Union[Outlet, list[Outlet]]) -> None:
        """Add outlets to this link.

        :raises TypeError: if one is not an :class:`Outlet`.
        :raises InvalidNodeError: if this link already contains one of them.
        """
        self._outlets = self._outlets + self._checked_new(outlets, Outlet, self._outlets, "outlet")

    def remove_outlets(self, outlets: Union[Outlet, list[Outlet]]) -> None:
        """Remove outlets from this link.

        :raises InvalidNodeError: if this link doesn't contain one of them.
        """
        self._outlets = self._without(outlets, self._outlets, "outlet")

    @staticmethod
    def _checked_new(nodes, kind: type, present: list, label: str) -> list:
        nodes = as_list(nodes)
        seen: list = []
        for node in nodes:
            if not isinstance(node, kind):
                raise TypeError(
                    f"Provided {label} is not an instance of {kind.__name__}(), found: {node!r}"
                )
            if any(node is other for other in present) or any(node is other for other in seen):
                raise InvalidNodeError(f"Link already contains {label}: {node}")
            seen.append(node)
        return seen

    @staticmethod
    def _without(nodes, present: list, label: str) -> list:
        remaining = list(present)
        for node in as_list(nodes):
            for index, other in enumerate(remaining):
                if other is node:
                    del remaining[index]
                    break
            else:
                raise InvalidNodeError(f"Link does not contain {label}: {node}")
        return remaining

    # -- settings ----------------------------------------------------------------

    @property
    def interval(self) -> datetime.timedelta:
        """Frequency at which this link should transfer."""
        return self._interval

    @property
    def tags(self) -> list[str]:
        """The tags of this link."""
        return self._tags

    @property
    def name(self) -> str:
        """Deprecated: the first tag of this link."""
        warnings.warn("'Link.name' is deprecated, use 'Link.tags'.", DeprecationWarning, stacklevel=2)
        return self._tags[0] if self._tags else ""

    @property
    def copy_records(self) -> bool:
        """Whether outlets receive records isolated from each other."""
        return self._copy_records

    @property
    def ignore_exceptions(self) -> bool:
        """Whether node, processor and grouper exceptions are logged and ignored."""
        return self._ignore_exceptions

    @property
    def stage(self) -> Stage | None:
        """This link's :class:`~databay.stage.Stage`, or ``None``."""
        return self._staging.stage if self._staging is not None else None

    def set_job(self, job: Any) -> None:
        """Specify the job this link is executed with (set by planners)."""
        self._job = job

    @property
    def job(self) -> Any:
        """The job this link is executed with. ``None`` when not scheduled."""
        return self._job

    # -- running -----------------------------------------------------------------

    def transfer(self) -> TransferStats:
        """Execute one transfer: pull from every inlet, then push to every outlet.

        Works with or without a planner. While a planner that schedules this link is
        running, the transfer runs on that planner's loop, after any transfer of this
        link already in flight (transfers of one link never overlap).
        """
        from databay.runtime import STANDALONE, run_standalone
        from databay.transfer import run_transfer

        engine = self._engine
        if engine is not None and engine.accepts_external_transfers():
            stats = engine.transfer_from_outside(self)
            if stats is not None:
                return stats
        return run_standalone(run_transfer(self, STANDALONE))

    def on_start(self) -> None:
        """Call ``try_start`` on all inlets and outlets of this link, then open its stage
        (restoring the inlets' states)."""
        for node in [*self._inlets, *self._outlets]:
            self._guard_lifecycle(node.try_start, node, "on_start")
        if self._staging is not None:
            self._staging.open(self)

    def on_shutdown(self) -> None:
        """Call ``try_shutdown`` on all inlets and outlets of this link, then close its stage."""
        for node in [*self._inlets, *self._outlets]:
            self._guard_lifecycle(node.try_shutdown, node, "on_shutdown")
        if self._staging is not None:
            self._staging.close()

    async def _on_start_async(self) -> None:
        for node in [*self._inlets, *self._outlets]:
            await self._guard_lifecycle_async(node._try_start_async, node, "on_start")
        if self._staging is not None:
            self._staging.open(self)

    async def _on_shutdown_async(self) -> None:
        for node in [*self._inlets, *self._outlets]:
            await self._guard_lifecycle_async(node._try_shutdown_async, node, "on_shutdown")
        if self._staging is not None:
            self._staging.close()

    def _lifecycle_failed(self, exc: Exception, node, what: str) -> None:
        kind = "inlet" if isinstance(node, Inlet) else "outlet"
        if not self._ignore_exceptions:
            raise exc
        _LOGGER.exception(f'{what} {kind} exception: "{exc}" for {kind}: {node}, in link: {self}')

    def _guard_lifecycle(self, call, node, what: str) -> None:
        try:
            call()
        except Exception as exc:
            self._lifecycle_failed(exc, node, what)

    async def _guard_lifecycle_async(self, call, node, what: str) -> None:
        try:
            await call()
        except Exception as exc:
            self._lifecycle_failed(exc, node, what)

    def __repr__(self) -> str:
        return (
            f"Link(tags:{self._tags}, inlets:{self._inlets}, outlets:{self._outlets}, "
            f"interval:{self._interval})"
        )
