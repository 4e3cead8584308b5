"""Tell plugins' observer hooks what the engine does, at no cost when nobody listens.

Plugins observe through their entry point. Code in the running process (a command line
view, a test, an application embedding databay) can observe too, without a plugin
distribution: :func:`add_observer` registers any object whose methods are marked with
:data:`databay.hookimpl` and named after the observer hooks::

    class Counter:
        finished = 0

        @hookimpl
        def databay_transfer_finished(self, link, update, stats):
            self.finished += 1

    counter = Counter()
    add_observer(counter)      # ... and remove_observer(counter) when done

The planner hooks (:data:`PLANNER_HOOKS`) tell when a planner's event loop is up and when
it is about to close, so that an observer can run something of its own on that loop (a web
dashboard, say); :func:`notify_planner` calls them.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from databay.plugins import get_plugin_manager, when_plugins_change

_LOGGER = logging.getLogger("databay.observers")
_UNSET: Any = object()
_current: Any = _UNSET

OBSERVER_HOOKS = ("databay_transfer_started", "databay_transfer_finished", "databay_transfer_failed",
                  "databay_transfer_skipped", "databay_transfer_retrying", "databay_batch_dead_lettered")
PLANNER_HOOKS = ("databay_planner_started", "databay_planner_stopped")
"""Hooks about a planner's loop rather than transfers: asking for them costs transfers nothing."""


def _hook(name: str) -> Any:
    """A method of :class:`_Notifier` calling the hook ``name``."""

    def notify(self: _Notifier, **kwargs: Any) -> None:
        for function, argnames, plugin_name in self._impls[name]:
            try:
                function(**{arg: kwargs[arg] for arg in argnames})
            except Exception:
                _LOGGER.exception("Observer %s of plugin %s failed", name, plugin_name)

    notify.__name__ = name.removeprefix("databay_")
    return notify


class _Notifier:
    """Calls the observer hooks; one failing observer never breaks a transfer.

    It keeps each hook's implementations as they were when :func:`refresh` made it (it is
    made again whenever observers or plugins come or go): a call looks nothing up, and a
    hook nobody implements costs a call with an empty loop.
    """

    def __init__(self, hook: Any):
        self._impls: dict[str, tuple[tuple[Callable[..., Any], tuple[str, ...], str], ...]] = {
            name: tuple((impl.function, impl.argnames, impl.plugin_name) for impl in getattr(hook, name).get_hookimpls())
            for name in OBSERVER_HOOKS
        }

    transfer_started = _hook("databay_transfer_started")
    transfer_finished = _hook("databay_transfer_finished")
    transfer_failed = _hook("databay_transfer_failed")
    transfer_skipped = _hook("databay_transfer_skipped")
    transfer_retrying = _hook("databay_transfer_retrying")
    batch_dead_lettered = _hook("databay_batch_dead_lettered")


def current() -> _Notifier | None:
    """The notifier for the loaded plugins, or ``None`` if no plugin observes transfers."""
    global _current
    if _current is _UNSET:
        refresh()
    return _current


def refresh() -> None:
    """Re-read which plugins observe transfers (after plugins were loaded or registered)."""
    global _current
    notifier = _Notifier(get_plugin_manager().pm.hook)
    _current = notifier if any(notifier._impls.values()) else None


def _forget() -> None:
    """The loaded plugins changed: find out again who observes at the next transfer."""
    global _current
    _current = _UNSET


when_plugins_change(_forget)


def add_observer(observer: Any) -> None:
    """Let ``observer``'s ``@hookimpl`` methods see the transfers of this process (once,
    however often it is added).

    :raises ValueError: it implements none of the observer hooks.
    """
    pm = get_plugin_manager().pm
    if pm.is_registered(observer):
        return
    pm.register(observer, name=f"observer:{type(observer).__name__}:{id(observer)}")
    hooks = OBSERVER_HOOKS + PLANNER_HOOKS
    if not any(caller.name in hooks for caller in pm.get_hookcallers(observer) or []):
        pm.unregister(observer)
        raise ValueError(f"{observer!r} implements none of the observer hooks: {', '.join(hooks)}")
    refresh()


def remove_observer(observer: Any) -> None:
    """Stop ``observer`` (added with :func:`add_observer`) watching transfers."""
    pm = get_plugin_manager().pm
    if pm.is_registered(observer):
        pm.unregister(observer)
        refresh()


async def notify_planner(hook: str, planner: Any) -> None:
    """Call the planner hook ``hook`` (one of :data:`PLANNER_HOOKS`) of every plugin and
    observer with ``planner``, on the planner's loop, one after the other; an implementation
    that is a coroutine function is awaited. One that raises is logged and the others go on."""
    if hook not in PLANNER_HOOKS:
        raise ValueError(f"not a planner hook: {hook!r}")
    for impl in getattr(get_plugin_manager().pm.hook, hook).get_hookimpls():
        try:
            result = impl.function(**({"planner": planner} if "planner" in impl.argnames else {}))
            if inspect.isawaitable(result):
                await result
        except Exception:
            _LOGGER.exception("Observer %s of plugin %s failed", hook, impl.plugin_name)
