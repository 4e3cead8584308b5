"""What the run layer remembers about a link between transfers.

The model's link is configuration only; everything a run needs to keep (the transfer
counter, how its nodes are called, the engine running it, its stage's bookkeeping) is kept
here, in a :class:`LinkState` per link, found with :func:`state_of`.
"""

from __future__ import annotations

import inspect
import itertools
import threading
import weakref
from typing import TYPE_CHECKING, Any

from databay.update import Update

if TYPE_CHECKING:
    from databay.link_settings import LinkSettings

__all__ = ["LinkState", "NodePlan", "state_of"]


class NodePlan:
    """How a transfer calls a link's inlets and outlets, worked out once per set of nodes
    (with the link's tags and stage, which never change)."""

    __slots__ = ("inlets", "outlets", "tags", "stage", "inlet_async", "outlet_async", "push_seconds", "one_to_one")

    def __init__(self, link: Any):
        self.inlets = inlets = link.inlets
        self.outlets = outlets = link.outlets
        self.tags: list[str] = link.tags
        self.stage: Any = link.stage
        self.inlet_async = [inspect.iscoroutinefunction(inlet.pull) for inlet in inlets]
        self.outlet_async = [inspect.iscoroutinefunction(outlet.push) for outlet in outlets]
        # Moving average of each synchronous outlet's pushes: quick ones push inline.
        self.push_seconds = [0.0] * len(outlets)
        # One inlet and one outlet, both synchronous ("sync") or both asynchronous ("async"):
        # the common links, whose transfers take a short cut.
        self.one_to_one: str | None = None
        if len(inlets) == 1 and len(outlets) == 1 and self.inlet_async[0] == self.outlet_async[0]:
            self.one_to_one = "async" if self.inlet_async[0] else "sync"


class LinkState:
    """The run layer's bookkeeping for one link."""

    __slots__ = ("counter", "_plan", "staging", "engine", "__weakref__")

    def __init__(self) -> None:
        self.counter = itertools.count()
        """Numbers the link's transfers (their :class:`Update`), from 0."""
        self._plan: NodePlan | None = None
        self.staging: Any = None
        """The staged delivery's state (:class:`~databay.run.staged.StagedLink`), once used."""
        self.engine: Any = None
        """The :class:`~databay.run.engine.Engine` scheduling the link, if any."""

    def next_update(self, link: LinkSettings) -> Update:
        """The :class:`Update` of the link's next transfer (numbered from 0)."""
        return Update(link.tags, next(self.counter))

    def plan(self, link: LinkSettings) -> NodePlan:
        """The link's :class:`NodePlan` (made again when its inlets or outlets changed:
        ``add_inlets`` and friends replace the lists)."""
        plan = self._plan
        if plan is None or plan.inlets is not link.inlets or plan.outlets is not link.outlets:
            plan = self._plan = NodePlan(link)
        return plan


_states: weakref.WeakKeyDictionary[Any, LinkState] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def state_of(link: Any) -> LinkState:
    """The :class:`LinkState` of ``link``, made on first use; forgotten with the link."""
    state = _states.get(link)
    if state is None:
        with _lock:
            state = _states.get(link)
            if state is None:
                state = _states[link] = LinkState()
    return state
