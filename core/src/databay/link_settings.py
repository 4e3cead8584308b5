"""A link's configuration: which inlets feed which outlets, how often, and how.

:class:`LinkSettings` is the model's link: plain configuration, validated on the way in,
with no reference to whatever runs it. :class:`databay.link.Link` adds the operations the
manual gives a link (``transfer``, ``on_start``, ``on_shutdown``), which the run layer
carries out; see ``docs/engine.md`` ("Layers").
"""

from __future__ import annotations

import datetime
import os
import warnings
from operator import attrgetter
from typing import Any, Union

from databay.errors import InvalidNodeError
from databay.inlet import Inlet
from databay.outlet import Outlet, as_list
from databay.processors import Processor
from databay.retry import RetryPolicy
from databay.schedules import Schedule

__all__ = ["Grouper", "LinkSettings", "Processor", "to_interval", "to_timedelta"]

Grouper = Processor
"""A grouper: takes ``[records]`` (one batch), returns the batches to push, e.g. ``[[r1, r2], [r3]]``."""

Interval = Union[datetime.timedelta, int, float]
IntervalOrSchedule = Union[datetime.timedelta, int, float, Schedule]
Retention = Union[datetime.timedelta, int, float, None]


def to_timedelta(value: Interval, what: str = "Link interval") -> datetime.timedelta:
    """Coerce a duration given as a :class:`datetime.timedelta` or a number of seconds.

    :raises TypeError: neither. Zero and negative durations are accepted: a link transferred
        by hand needs no interval; planners refuse to schedule them.
    """
    if isinstance(value, datetime.timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.timedelta(seconds=value)
    raise TypeError(f"{what} must be a datetime.timedelta or a number of seconds, found: {value!r}")


def to_interval(value: IntervalOrSchedule) -> datetime.timedelta | Schedule:
    """A link's ``interval``: a duration (see :func:`to_timedelta`), or a schedule as it is
    (a :class:`~databay.calendar.Calendar`, or another planner's, such as databay-aps's
    ``Cron``: anything with ``first_due`` and ``next_due``).

    :raises TypeError: neither.
    """
    if isinstance(value, Schedule) and not isinstance(value, type):
        return value
    if isinstance(value, (datetime.timedelta, int, float)) and not isinstance(value, bool):
        return to_timedelta(value)
    raise TypeError(f"Link interval must be a datetime.timedelta or a number of seconds (or a schedule such as "
                    f"databay.Calendar('every day at 06:00')), found: {value!r}")


class LinkSettings:
    """The configuration of a link; the parameters are those of :class:`databay.link.Link`."""

    # Declared on the class too, so that a ``MagicMock(spec=Link)`` has them.
    immediate_transfer: bool = True
    """Whether planners with ``immediate_transfer=True`` transfer this link once as they start."""
    inlet_concurrency: int = 9999
    """How many inlets may pull at the same time."""
    retry_policy: RetryPolicy | None = None
    """How pulls and pushes are retried when the node has no policy of its own."""
    stage_role: str = "both"
    """``"both"``, ``"fill"`` (only commits to its stage) or ``"drain"`` (only delivers from it)."""
    stage_outlets: tuple[str, ...] = ()
    """For a ``"fill"`` link: the outlets (their stage keys) its batches are staged for."""
    identity: str | None = None
    """A stable name of the link's definition, the same in every process that builds it:
    set by pipeline files (:mod:`databay.pipeline.identity`), ``None`` for a link made in
    Python unless you set it. Planners that run links in several processes use it."""

    def __init__(
        self,
        inlets: Union[Inlet, list[Inlet]],
        outlets: Union[Outlet, list[Outlet]],
        interval: IntervalOrSchedule,
        tags: Union[str, list[str], None] = None,
        copy_records: bool = True,
        ignore_exceptions: bool = False,
        catch_exceptions: bool | None = None,
        inlet_concurrency: int = 9999,
        immediate_transfer: bool = True,
        processors: Union[Processor, list[Processor], None] = None,
        groupers: Union[Processor, list[Processor], None] = None,
        name: str | None = None,
        stage: Union[str, os.PathLike, Any, None] = None,
        retry: Union[RetryPolicy, dict, None] = None,
        stage_retention: Retention = None,
        stage_role: str = "both",
        stage_outlets: list[str] | None = None,
    ):
        self._inlets: list[Inlet] = []
        self._outlets: list[Outlet] = []
        self.add_inlets(inlets)
        self.add_outlets(outlets)
        self._interval = to_interval(interval)
        if name is not None:
            warnings.warn(
                "'name' parameter was deprecated in 0.2.0, use 'tags' instead.",
                DeprecationWarning,
                stacklevel=3,
            )
            tags = [name]
        self._tags: list[str] = [tags] if isinstance(tags, str) else list(tags or [])
        self._copy_records = copy_records
        self._ignore_exceptions = ignore_exceptions
        if catch_exceptions is not None:
            warnings.warn(
                "'catch_exceptions' was renamed to 'ignore_exceptions'.",
                DeprecationWarning,
                stacklevel=3,
            )
            self._ignore_exceptions = catch_exceptions
        if not isinstance(inlet_concurrency, int) or inlet_concurrency < 1:
            raise ValueError(f"inlet_concurrency must be a positive int, found: {inlet_concurrency!r}")
        self.inlet_concurrency = inlet_concurrency
        self.immediate_transfer = immediate_transfer
        self.processors: list[Processor] = as_list(processors)
        self.groupers: list[Processor] = as_list(groupers)
        self.retry_policy = RetryPolicy.coerce(retry)
        self._stage: Any = stage
        self._stage_retention = None if stage_retention is None else to_timedelta(stage_retention,
                                                                                   "stage_retention")
        if self._stage_retention is not None and self._stage_retention < datetime.timedelta(0):
            raise ValueError(f"stage_retention must not be negative, found: {stage_retention!r}")
        self.stage_role, self.stage_outlets = _checked_role(stage_role, stage_outlets, stage, self._inlets,
                                                            self._outlets)

    # -- the graph ---------------------------------------------------------------

    # Getters in C: transfers read these thousands of times a second.
    inlets: list[Inlet] = property(attrgetter("_inlets"), doc="Inlets handled by this link.")  # type: ignore[assignment]

    outlets: list[Outlet] = property(attrgetter("_outlets"), doc="Outlets handled by this link.")  # type: ignore[assignment]

    def add_inlets(self, inlets: Union[Inlet, list[Inlet]]) -> None:
        """Add inlets to this link.

        :raises TypeError: if one is not an :class:`Inlet`.
        :raises InvalidNodeError: if this link already contains one of them.
        """
        # A new list each time: the run layer notices the change by the list's identity.
        self._inlets = self._inlets + _checked_new(inlets, Inlet, self._inlets, "inlet")

    def remove_inlets(self, inlets: Union[Inlet, list[Inlet]]) -> None:
        """Remove inlets from this link.

        :raises InvalidNodeError: if this link doesn't contain one of them.
        """
        self._inlets = _without(inlets, self._inlets, "inlet")

    def add_outlets(self, outlets: Union[Outlet, list[Outlet]]) -> None:
        """Add outlets to this link.

        :raises TypeError: if one is not an :class:`Outlet`.
        :raises InvalidNodeError: if this link already contains one of them.
        """
        self._outlets = self._outlets + _checked_new(outlets, Outlet, self._outlets, "outlet")

    def remove_outlets(self, outlets: Union[Outlet, list[Outlet]]) -> None:
        """Remove outlets from this link.

        :raises InvalidNodeError: if this link doesn't contain one of them.
        """
        self._outlets = _without(outlets, self._outlets, "outlet")

    # -- settings ----------------------------------------------------------------

    @property
    def interval(self) -> datetime.timedelta | Schedule:
        """Frequency at which this link should transfer: a :class:`datetime.timedelta`, or
        the schedule it was given instead (a :class:`~databay.calendar.Calendar`), which has
        no ``total_seconds()``: code written for intervals fails on it rather than
        scheduling it on a wrong interval (``databay.schedules.schedule_of(link)`` gives
        the due times of both)."""
        return self._interval

    tags: list[str] = property(attrgetter("_tags"), doc="The tags of this link.")  # type: ignore[assignment]

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
    def stage(self) -> Any:
        """This link's stage, or ``None``."""
        return self._stage

    @property
    def stage_retention(self) -> datetime.timedelta | None:
        """How long the stage keeps delivered batches (``None``: not kept)."""
        return self._stage_retention

    def __repr__(self) -> str:
        return (
            f"Link(tags:{self._tags}, inlets:{self._inlets}, outlets:{self._outlets}, "
            f"interval:{self._interval})"
        )


STAGE_ROLES = ("both", "fill", "drain")


def _checked_role(role: Any, stage_outlets: Any, stage: Any, inlets: list, outlets: list
                  ) -> tuple[str, tuple[str, ...]]:
    """``(stage_role, stage_outlets)`` checked against each other and the link's nodes."""
    if role not in STAGE_ROLES:
        raise ValueError(f"stage_role must be one of {', '.join(map(repr, STAGE_ROLES))}, found: {role!r}")
    if role != "both" and stage is None:
        raise ValueError(f"a link with stage_role={role!r} needs a stage: the one it "
                         f"{'fills' if role == 'fill' else 'drains'}")
    keys = tuple(stage_outlets or ())
    if role == "fill":
        if outlets:
            raise ValueError("a link with stage_role='fill' delivers nothing, so it has no outlets: give them to "
                             "the link that drains the stage (stage_role='drain')")
        if not keys or not all(isinstance(key, str) and key for key in keys):
            raise ValueError("a link with stage_role='fill' needs stage_outlets: the outlets its batches are "
                             "staged for, as the draining link's stage keys (class names, e.g. ['CsvOutlet'])")
    elif keys:
        raise ValueError("stage_outlets is for a link with stage_role='fill' (the outlets it stages batches for)")
    if role == "drain" and inlets:
        raise ValueError("a link with stage_role='drain' pulls nothing, so it has no inlets: give them to the "
                         "link that fills the stage (stage_role='fill')")
    return role, keys


def _checked_new(nodes: Any, kind: type, present: list, label: str) -> list:
    nodes = as_list(nodes)
    seen: list = []
    for node in nodes:
        if not isinstance(node, kind):
            raise TypeError(f"Provided {label} is not an instance of {kind.__name__}(), found: {node!r}")
        if any(node is other for other in present) or any(node is other for other in seen):
            raise InvalidNodeError(f"Link already contains {label}: {node}")
        seen.append(node)
    return seen


def _without(nodes: Any, present: list, label: str) -> list:
    remaining = list(present)
    for node in as_list(nodes):
        for index, other in enumerate(remaining):
            if other is node:
                del remaining[index]
                break
        else:
            raise InvalidNodeError(f"Link does not contain {label}: {node}")
    return remaining
