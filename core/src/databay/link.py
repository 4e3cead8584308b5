"""The :class:`Link`: a link's configuration and the operations the manual gives it.

The configuration lives in the model (:class:`~databay.link_settings.LinkSettings`); the
operations, ``transfer()``, ``on_start()`` and ``on_shutdown()``, hand the link to the run
layer (:mod:`databay.run.dispatch`). This module sits above the run layer, so the model
never imports it; see ``docs/engine.md`` ("Layers").
"""

from __future__ import annotations

import datetime
import functools
import os
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Union, cast

from databay.link_settings import Grouper, LinkSettings, Processor, to_timedelta
from databay.run import dispatch
from databay.stage import SqliteStage, Stage
from databay.update import Update

if TYPE_CHECKING:
    from databay.run.stats import TransferStats

__all__ = ["Grouper", "Link", "Processor", "Update", "is_plain_link", "to_timedelta"]


class Link(LinkSettings):
    """Link in the relationship graph: moves records from its inlets to its outlets.

    :param inlets: inlets to add to this link.
    :param outlets: outlets to add to this link.
    :param interval: how often to transfer: a :class:`datetime.timedelta`, or an ``int``
        or ``float`` number of seconds; or when, a calendar schedule:
        ``Calendar("every weekday at 00:00", timezone="Europe/Amsterdam")`` (see
        :mod:`databay.calendar`). Planners refuse to schedule a link whose interval is not
        positive; such a link can still be transferred by hand.
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
    :param stage_retention: how long the stage keeps batches every outlet has taken (a
        :class:`datetime.timedelta` or seconds), for ``databay stage`` to list and export.
        Default ``None``: delivered batches are not kept.
    :param stage_role: ``"both"`` (default): the link pulls, commits to its stage and
        delivers. ``"fill"``: it only pulls and commits (it has no outlets); ``"drain"``:
        it only delivers what the stage holds to its outlets (it has no inlets). A fill
        link and a drain link share a stage, each on its own schedule; see
        ``docs/reliability.md`` ("Producer and consumer apart").
    :param stage_outlets: for a fill link, the outlets its batches are staged for: the
        drain link's outlets as the stage names them (class names, ``#2`` for a second of
        a class), e.g. ``["MongoOutlet"]``.
    """

    @functools.wraps(LinkSettings.__init__)  # type: ignore[misc]  # the same parameters, for inspection
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._stage = _stage_for(self._stage, self.stage_retention)
        self._job: Any = None
        dispatch.warm_up()

    stage: Stage | None = property(  # type: ignore[assignment]
        attrgetter("_stage"), doc="This link's :class:`~databay.stage.Stage`, or ``None``.")

    def set_job(self, job: Any) -> None:
        """Specify the job this link is executed with (set by planners)."""
        self._job = job

    @property
    def job(self) -> Any:
        """The job this link is executed with. ``None`` when not scheduled."""
        return self._job

    # -- the operations, carried out by the run layer --------------------------------

    def transfer(self) -> TransferStats:
        """Execute one transfer: pull from every inlet, then push to every outlet.

        Works with or without a planner. While a planner that schedules this link is
        running, the transfer runs on that planner's loop, after any transfer of this
        link already in flight (transfers of one link never overlap).
        """
        return dispatch.transfer(self)

    def on_start(self) -> None:
        """Call ``try_start`` on all inlets and outlets of this link, then open its stage
        (restoring the inlets' states)."""
        dispatch.start(self)

    def on_shutdown(self) -> None:
        """Call ``try_shutdown`` on all inlets and outlets of this link, then close its stage."""
        dispatch.shut_down(self)


def _stage_for(stage: Union[str, os.PathLike, Stage, None], retention: datetime.timedelta | None) -> Stage | None:
    """The stage a link was given: a path makes the built-in SQLite stage."""
    if isinstance(stage, (str, os.PathLike)):
        stage = SqliteStage(stage)
    if retention is not None:
        if stage is None:
            raise ValueError("stage_retention needs a stage: give the link one with stage=...")
        if not hasattr(stage, "retention"):
            raise ValueError(f"{stage!r} cannot keep delivered batches: it has no 'retention' setting")
        stage.retention = retention
    return stage


def is_plain_link(link: object) -> bool:
    """Whether ``link`` is a :class:`Link` whose ``transfer()``, ``on_start()`` and
    ``on_shutdown()`` are :class:`Link`'s own, so that planners may run it straight from its
    settings. Anything else (a subclass overriding one of them, a ``MagicMock(spec=Link)``)
    is driven through those public methods."""
    if not issubclass(type(link), Link):  # not isinstance: a MagicMock(spec=Link) passes that
        return False
    kind = cast("type[Link]", type(link))
    overridden = getattr(link, "__dict__", {})
    return (kind.transfer is Link.transfer and kind.on_start is Link.on_start and kind.on_shutdown is Link.on_shutdown
            and not any(name in overridden for name in ("transfer", "on_start", "on_shutdown")))
