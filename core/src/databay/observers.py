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
"""

from __future__ import annotations

import logging
from typing import Any

from databay.plugins import get_plugin_manager, when_plugins_change

_LOGGER = logging.getLogger("databay.observers")
_UNSET: Any = object()
_current: Any = _UNSET

OBSERVER_HOOKS = ("databay_transfer_started", "databay_transfer_finished", "databay_transfer_failed",
                  "databay_transfer_skipped", "databay_transfer_retrying", "databay_batch_dead_lettered")


def _hook(name: str) -> Any:
    """A method of :class:`_Notifier` calling the hook ``name``."""

    def notify(self: _Notifier, **kwargs: Any) -> None:
        self._call(name, **kwargs)

    notify.__name__ = name.removeprefix("databay_")
    return notify


class _Notifier:
    """Calls the observer hooks; one failing observer never breaks a transfer."""

    def __init__(self, hook: Any):
        self._hook = hook

    def _call(self, name: str, **kwargs: Any) -> None:
        caller = getattr(self._hook, name)
        for impl in caller.get_hookimpls():
            try:
                impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            except Exception:
                _LOGGER.exception("Observer %s of plugin %s failed", name, impl.plugin_name)

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
    hook = get_plugin_manager().pm.hook
    listening = any(getattr(hook, name).get_hookimpls() for name in OBSERVER_HOOKS)
    _current = _Notifier(hook) if listening else None


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
    if not any(caller.name in OBSERVER_HOOKS for caller in pm.get_hookcallers(observer) or []):
        pm.unregister(observer)
        raise ValueError(f"{observer!r} implements none of the observer hooks: {', '.join(OBSERVER_HOOKS)}")
    refresh()


def remove_observer(observer: Any) -> None:
    """Stop ``observer`` (added with :func:`add_observer`) watching transfers."""
    pm = get_plugin_manager().pm
    if pm.is_registered(observer):
        pm.unregister(observer)
        refresh()
