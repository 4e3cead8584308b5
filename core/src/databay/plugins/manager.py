"""Loading plugins: registering them with pluggy and collecting what their hooks register.

Core's built-ins are the plugin ``databay`` (:mod:`databay.default_plugins.builtins`);
then each installed plugin distribution's modules, in distribution order. Every plugin is
registered and asked for its components on its own, so that a broken one (import error,
hook not matching its specification, hook wrapper, hook that raises) is recorded with its
reason and never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

import databay.hookspecs as hookspecs
from databay.errors import PluginError
from databay.plugins.kinds import KIND_OF_HOOK
from databay.plugins.registry import CORE_DISTRIBUTION, Component, PluginInfo, Registry, normalize

_change_listeners: list[Callable[[], None]] = []


def when_plugins_change(listener: Callable[[], None]) -> None:
    """Call ``listener()`` whenever hook implementations may have come or gone: a plugin
    registered, or another process-wide manager set (the observers re-read theirs then)."""
    _change_listeners.append(listener)


def plugins_changed() -> None:
    """Tell the listeners of :func:`when_plugins_change`."""
    for listener in _change_listeners:
        listener()


class HookManager(pluggy.PluginManager):
    """pluggy's plugin manager for the ``databay`` hooks, refusing call options it cannot honour.

    databay calls each hook implementation on its own, in registration order (so that one
    plugin's failure is only its own): a wrapper (``wrapper=True``, ``hookwrapper=True``)
    would never run and ``tryfirst``/``trylast`` would mean nothing, so a plugin declaring
    one is refused when it registers, with a message naming the hook. A plugin that fails
    to register leaves nothing registered.
    """

    REFUSED_OPTIONS = ("wrapper", "hookwrapper", "tryfirst", "trylast")

    def __init__(self) -> None:
        super().__init__("databay")
        self.add_hookspecs(hookspecs)

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        try:
            registered_name = super().register(plugin, name)
        except Exception:
            if self.is_registered(plugin):  # pluggy leaves a plugin it rejected half registered
                self.unregister(plugin)
            raise
        refused = [f"{caller.name} ({option}=True)" for caller in self.get_hookcallers(plugin) or []
                   for impl in caller.get_hookimpls() if impl.plugin is plugin
                   for option in self.REFUSED_OPTIONS if getattr(impl, option)]
        if refused:
            self.unregister(plugin)
            raise pluggy.PluginValidationError(
                plugin,
                f"{', '.join(refused)}: databay calls each hook implementation on its own, in "
                f"registration order, so it supports no wrapper, hookwrapper, tryfirst or trylast; "
                f"implement the hook as a plain @hookimpl",
            )
        return registered_name


class PluginManager(Registry):
    """Loads plugin distributions and answers which component a name means.

    :param load_only: distribution names to load (``None``: all installed ones).
    :param strict: raise :class:`PluginError` for a broken plugin instead of recording it.
    """

    def __init__(self, load_only: set[str] | None = None, strict: bool = False):
        super().__init__(load_only)
        self.pm = HookManager()
        self.strict = strict
        self._modules: dict[str, list[Any]] = {}  # the plugin objects registered, by distribution

    def load(self) -> PluginManager:
        """Register core's built-ins and every selected installed plugin with their components."""
        from databay._version import __version__
        from databay.default_plugins import builtins

        core = self.plugins[CORE_DISTRIBUTION] = PluginInfo(CORE_DISTRIBUTION, __version__)
        self._register_module(core, builtins, "databay.default_plugins.builtins")
        if self.load_only != set():  # DATABAY_LOAD_PLUGINS set to empty: don't even look
            from databay.plugins.discovery import entry_points

            for entry_point in entry_points():
                name = normalize(entry_point.distribution)
                if name == CORE_DISTRIBUTION or (self.load_only is not None and name not in self.load_only):
                    continue
                info = self.plugins.setdefault(name, PluginInfo(name, entry_point.version))
                try:
                    module = entry_point.load()
                except (Exception, SystemExit) as exc:  # a plugin may even sys.exit() on import
                    self._broken(info, f"cannot import {entry_point.value}: {type(exc).__name__}: {exc}")
                    continue
                self._register_module(info, module, entry_point.value)
        plugins_changed()
        return self

    def register(self, module: Any, distribution: str, version: str = "0") -> PluginInfo:
        """Register a plugin object by hand (tests, embedding) with its components."""
        name = normalize(distribution)
        info = self.plugins.setdefault(name, PluginInfo(name, version))
        self._register_module(info, module, getattr(module, "__name__", repr(module)))
        plugins_changed()
        return info

    def observe(self) -> None:
        """Make the engine's observers see the plugins registered so far (:meth:`load` and
        :meth:`register` do this themselves)."""
        plugins_changed()

    def _register_module(self, info: PluginInfo, module: Any, label: str) -> None:
        if info.error is not None:  # its distribution is broken already: none of its hooks run
            return
        plugin_name = f"{info.name}:{label}"
        try:
            self.pm.register(module, name=plugin_name)
        except Exception as exc:  # a hook not matching its spec, a wrapper
            self._broken(info, f"invalid plugin {label}: {exc}")
            return
        info.modules.append(label)
        self._modules.setdefault(info.name, []).append(module)
        callers = self.pm.get_hookcallers(module) or []
        info.hooks.extend(caller.name for caller in callers if caller.name not in info.hooks)
        self._collect(info, module, callers)

    def _collect(self, info: PluginInfo, module: Any, callers: list[pluggy.HookCaller]) -> None:
        """Call ``module``'s registration hooks, one at a time, and keep what they register."""
        for caller in callers:
            kind = KIND_OF_HOOK.get(caller.name)
            if kind is None:
                continue
            impl = next(impl for impl in caller.get_hookimpls() if impl.plugin is module)
            added: list[Component] = []

            def register(name: str, target: Any, _kind: str = kind, _added: list[Component] = added) -> None:
                component = Component.from_registration(_kind, name, target, info.name)
                if any(c.kind == _kind and c.name == name for c in [*info.components, *_added]):
                    raise ValueError(f"{_kind} '{name}' is registered twice")
                _added.append(component)

            try:
                impl.function(**({"register": register} if "register" in impl.argnames else {}))
            except Exception as exc:
                self._broken(info, f"{impl.function.__module__}.{impl.function.__name__} failed: "
                                   f"{type(exc).__name__}: {exc}")
                return
            self.add(info, added)

    def _broken(self, info: PluginInfo, reason: str) -> None:
        if self.strict:
            raise PluginError(f"plugin {info.name} is broken: {reason}")
        info.error = reason if info.error is None else f"{info.error}; {reason}"
        self.withdraw(info)
        for module in self._modules.pop(info.name, []):  # no hook of a broken plugin runs
            self.pm.unregister(module)
