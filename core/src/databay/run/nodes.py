"""Starting and stopping a link's nodes and stage, written once for planners, pipelines
and ``Link.on_start()``/``on_shutdown()`` alike.

Starting a link calls ``try_start`` on each of its inlets and outlets (a node shared by
several links starts once), then opens its stage, restoring the inlets' states. Stopping
calls ``try_shutdown`` on each, then closes the stage. A node that raises is logged when
the link ignores exceptions, else its exception is raised.

:func:`start` and :func:`shut_down` run on an event loop (an async ``on_start`` is awaited
there, so what it opens belongs to that loop); :func:`start_now` and :func:`shut_down_now`
run them from synchronous code on the calling thread's own loop, the one
``Link.transfer()`` uses outside a planner.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from databay.inlet import Inlet
from databay.run.staged import staging_of
from databay.run.state import state_of
from databay.thread_loop import run_in_thread_loop

if TYPE_CHECKING:
    from databay.link_settings import LinkSettings

__all__ = ["shut_down", "shut_down_now", "start", "start_now"]

_LOGGER = logging.getLogger("databay.Link")


async def start(link: LinkSettings) -> None:
    """Start ``link``'s nodes on the running loop, then open its stage."""
    await _each_on_loop(link, "on_start", "try_start_async")
    _open_stage(link)


def start_now(link: LinkSettings) -> None:
    """:func:`start` from synchronous code, on the calling thread's own loop."""
    run_in_thread_loop(start(link))


async def shut_down(link: LinkSettings) -> None:
    """Shut ``link``'s nodes down on the running loop, then close its stage."""
    await _each_on_loop(link, "on_shutdown", "try_shutdown_async")
    _close_stage(link)


def shut_down_now(link: LinkSettings) -> None:
    """:func:`shut_down` from synchronous code, on the calling thread's own loop."""
    run_in_thread_loop(shut_down(link))


async def _each_on_loop(link: LinkSettings, what: str, method: str) -> None:
    for node in [*link.inlets, *link.outlets]:
        try:
            await getattr(node, method)()
        except Exception as exc:
            _failed(link, exc, node, what)


def _open_stage(link: LinkSettings) -> None:
    staging = staging_of(link, state_of(link))
    if staging is not None:
        staging.open(link)


def _close_stage(link: LinkSettings) -> None:
    staging = staging_of(link, state_of(link))
    if staging is not None:
        staging.close()


def _failed(link: LinkSettings, exc: Exception, node: Any, what: str) -> None:
    if not link.ignore_exceptions:
        raise exc
    kind = "inlet" if isinstance(node, Inlet) else "outlet"
    _LOGGER.exception(f'{what} {kind} exception: "{exc}" for {kind}: {node}, in link: {link}')
