"""Discovering plugin distributions and resolving the components they register.

Plugins are modules named by entry points of the ``databay`` group. Each is registered
with a pluggy plugin manager, then its registration hooks are called one plugin at a
time, so that a broken plugin (import error, bad hook, failing hook) is recorded with its
reason and never stops the others. Core's built-ins are the plugin ``databay``.

Environment:

- ``DATABAY_LOAD_PLUGINS=a,b`` loads only those plugin distributions (empty: none but the
  built-ins).
- ``DATABAY_STRICT_PLUGINS=1`` turns a broken plugin into a :class:`PluginError`.
"""

from __future__ import annotations

import importlib
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

from databay import catalog, hookspecs
from databay.errors import AmbiguousComponentError, ComponentNotFoundError, PluginError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint  # imported only when a scan cannot do (see _scan_entry_points)

KINDS = ("inlet", "outlet", "planner", "processor", "notifier")
REGISTRATION_HOOKS = {
    "inlet": "databay_register_inlets",
    "outlet": "databay_register_outlets",
    "planner": "databay_register_planners",
    "processor": "databay_register_processors",
    "notifier": "databay_register_notifiers",
}
CORE_DISTRIBUTION = "databay"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def normalize(distribution: str) -> str:
    """Canonical form of a distribution name (PEP 503): ``Databay_HTTP`` -> ``databay-http``."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


@dataclass
class Component:
    """A component registered by a plugin: an inlet, outlet, planner or processor."""

    kind: str
    name: str
    target: Any
    distribution: str
    _loaded: Any = field(default=None, repr=False, compare=False)

    @property
    def class_name(self) -> str:
        """The attribute name of the target, known without importing it."""
        if isinstance(self.target, str):
            return self.target.rsplit(":", 1)[1].rsplit(".", 1)[-1]
        return getattr(self.target, "__name__", self.name)

    @property
    def qualified_name(self) -> str:
        """``distribution:name``, unique even when two plugins use the same name."""
        return f"{self.distribution}:{self.name}"

    @property
    def import_path(self) -> str:
        """``module:Attr`` of the target."""
        if isinstance(self.target, str):
            return self.target
        return f"{self.target.__module__}:{self.target.__qualname__}"

    def load(self) -> Any:
        """Import (once) and return the registered class or callable."""
        if self._loaded is None:
            if isinstance(self.target, str):
                module_name, attr = self.target.split(":", 1)
                try:
                    value: Any = importlib.import_module(module_name)
                    for part in attr.split("."):
                        value = getattr(value, part)
                except ImportError as exc:
                    raise PluginError(
                        f"{self.kind} '{self.name}' of {self.distribution} cannot be imported "
                        f"from {self.target}: {exc}"
                    ) from exc
                except AttributeError as exc:
                    raise PluginError(
                        f"{self.kind} '{self.name}' of {self.distribution}: {self.target} "
                        f"does not exist ({exc})"
                    ) from exc
                self._loaded = value
            else:
                self._loaded = self.target
        return self._loaded


@dataclass
class PluginInfo:
    """One loaded (or broken) plugin distribution."""

    name: str
    version: str
    modules: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    error: str | None = None

    def of_kind(self, kind: str) -> list[Component]:
        return [c for c in self.components if c.kind == kind]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready description (used by ``databay plugins --json``)."""
        data: dict[str, Any] = {"name": self.name, "version": self.version, "modules": self.modules,
                                "hooks": sorted(self.hooks)}
        for kind in KINDS:
            data[f"{kind}s"] = [
                {"name": c.name, "class": c.class_name, "target": c.import_path}
                for c in self.of_kind(kind)
            ]
        data["error"] = self.error
        return data


class PluginManager:
    """Loads plugin distributions and answers which component a name means.

    :param load_only: distribution names to load (``None``: all installed ones).
    :param strict: raise :class:`PluginError` for a broken plugin instead of recording it.
    """

    def __init__(self, load_only: set[str] | None = None, strict: bool = False):
        self.pm = pluggy.PluginManager("databay")
        self.pm.add_hookspecs(hookspecs)
        self.load_only = load_only
        self.strict = strict
        self.plugins: dict[str, PluginInfo] = {}
        self._plugin_of_module: dict[str, PluginInfo] = {}
        self._components: dict[str, list[Component]] = {kind: [] for kind in KINDS}

    # -- loading -----------------------------------------------------------------

    def load(self) -> PluginManager:
        """Register core's built-ins and every selected installed plugin, then collect components."""
        from databay import __version__
        from databay.default_plugins import builtins

        core = self.plugins[CORE_DISTRIBUTION] = PluginInfo(CORE_DISTRIBUTION, __version__)
        self._register_module(core, builtins, "databay.default_plugins.builtins")
        # DATABAY_LOAD_PLUGINS set to empty: no need to even look at the installed ones.
        for entry_point in _entry_points() if self.load_only != set() else []:
            dist = entry_point.dist
            name = normalize(dist.name if dist is not None else entry_point.name)
            if name == CORE_DISTRIBUTION or (self.load_only is not None and name not in self.load_only):
                continue
            info = self.plugins.get(name)
            if info is None:
                version = dist.version if dist is not None else "unknown"
                info = self.plugins[name] = PluginInfo(name, version)
            try:
                module = entry_point.load()
            except (Exception, SystemExit) as exc:  # a plugin may even sys.exit() on import
                self._broken(info, f"cannot import {entry_point.value}: {type(exc).__name__}: {exc}")
                continue
            self._register_module(info, module, entry_point.value)
        for kind in KINDS:
            self._collect(kind)
        return self

    def register(self, module: Any, distribution: str, version: str = "0") -> PluginInfo:
        """Register a plugin object by hand (tests, embedding) and collect its components."""
        name = normalize(distribution)
        info = self.plugins.setdefault(name, PluginInfo(name, version))
        plugin_name = self._register_module(info, module, getattr(module, "__name__", repr(module)))
        if plugin_name is not None:
            for kind in KINDS:
                self._collect(kind, only=plugin_name)
        return info

    def _register_module(self, info: PluginInfo, module: Any, label: str) -> str | None:
        plugin_name = f"{info.name}:{label}"
        try:
            self.pm.register(module, name=plugin_name)
        except Exception as exc:  # pluggy rejects hooks that don't match a spec
            self._broken(info, f"invalid plugin {label}: {exc}")
            return None
        info.modules.append(label)
        info.hooks.extend(
            caller.name for caller in self.pm.get_hookcallers(module) or [] if caller.name not in info.hooks
        )
        self._plugin_of_module[plugin_name] = info
        return plugin_name

    def _collect(self, kind: str, only: str | None = None) -> None:
        caller = getattr(self.pm.hook, REGISTRATION_HOOKS[kind])
        for impl in caller.get_hookimpls():
            if only is not None and impl.plugin_name != only:
                continue
            info = self._plugin_of_module[impl.plugin_name]
            if info.error is not None:
                continue
            added: list[Component] = []

            def register(name: str, target: Any, _info: PluginInfo = info, _added: list = added) -> None:
                component = self._validated(kind, name, target, _info)
                if any(c.name == component.name for c in _added):  # twice within this very hook call
                    raise ValueError(f"{kind} '{name}' is registered twice")
                _added.append(component)

            try:
                impl.function(**({"register": register} if "register" in impl.argnames else {}))
            except Exception as exc:
                self._broken(info, f"{impl.function.__module__}.{impl.function.__name__} failed: "
                                   f"{type(exc).__name__}: {exc}")
                continue
            info.components.extend(added)
            self._components[kind].extend(added)

    def _validated(self, kind: str, name: Any, target: Any, info: PluginInfo) -> Component:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"{kind} name {name!r} must be short and lowercase, like 'my_{kind}'")
        if isinstance(target, str):
            if not _TARGET.match(target):
                raise ValueError(f"{kind} '{name}': target {target!r} is not 'package.module:Attr'")
        elif not callable(target):
            raise ValueError(f"{kind} '{name}': target must be a class, a callable or 'module:Attr'")
        if any(c.kind == kind and c.name == name for c in info.components):
            raise ValueError(f"{kind} '{name}' is registered twice")
        return Component(kind, name, target, info.name)

    def _broken(self, info: PluginInfo, reason: str) -> None:
        if self.strict:
            raise PluginError(f"plugin {info.name} is broken: {reason}")
        info.error = reason if info.error is None else f"{info.error}; {reason}"
        for component in info.components:
            self._components[component.kind].remove(component)
        info.components.clear()

    # -- questions ---------------------------------------------------------------

    def components(self, kind: str) -> list[Component]:
        """All components of ``kind`` registered by working plugins."""
        return list(self._components[kind])

    def find(self, kind: str, name: str) -> Component:
        """The component ``name`` (or class name, or ``distribution:name``) of ``kind``.

        :raises ComponentNotFoundError: nothing installed registers it (says what would).
        :raises AmbiguousComponentError: two distributions register it (names both).
        """
        if kind not in KINDS:
            raise ValueError(f"unknown component kind {kind!r}; expected one of {', '.join(KINDS)}")
        distribution, _, short = name.rpartition(":")
        candidates = [
            c for c in self._components[kind]
            if short in (c.name, c.class_name) and (not distribution or c.distribution == normalize(distribution))
        ]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise ComponentNotFoundError(self._not_found_message(kind, name, distribution))
        by_name = [c for c in candidates if c.name == short] or candidates
        if len({c.distribution for c in by_name}) == 1:
            return by_name[0]
        choices = ", ".join(f"'{c.qualified_name}'" for c in by_name)
        dists = " and ".join(sorted({c.distribution for c in by_name}))
        raise AmbiguousComponentError(
            f"{kind} '{name}' is registered by both {dists}; use a qualified name: {choices}"
        )

    def _not_found_message(self, kind: str, name: str, distribution: str) -> str:
        if distribution and normalize(distribution) not in self.plugins:
            return f"no plugin distribution '{distribution}' is installed (looking for {kind} '{name}')"
        message = f"unknown {kind} '{name}'"
        provider = catalog.provider_of(kind, name.rpartition(":")[2])
        if provider is not None and provider not in self.plugins:
            if self.leaves_out(provider):
                return f"{message}: it is provided by {provider}, which DATABAY_LOAD_PLUGINS leaves out"
            return f"{message}: it is provided by {provider}, which is not installed (pip install {provider})"
        broken = [info.name for info in self.plugins.values() if info.error]
        known = sorted({c.name for c in self._components[kind]} | {c.class_name for c in self._components[kind]})
        import difflib  # only for this message: keeps it out of start-up

        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        if close:
            message += f" (did you mean {' or '.join(repr(c) for c in close)}?)"
        elif known:
            message += f"; registered {kind}s: {', '.join(sorted({c.name for c in self._components[kind]}))}"
        if broken:
            message += f"; broken plugins not loaded: {', '.join(broken)}"
        return message

    def leaves_out(self, distribution: str) -> bool:
        """Whether ``distribution`` is installed but not loaded (``DATABAY_LOAD_PLUGINS``)."""
        if self.load_only is None or normalize(distribution) in self.load_only:
            return False
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import distribution as installed  # only for this message

        try:
            installed(distribution)
        except PackageNotFoundError:
            return False
        return True

    def resolve(self, kind: str, name: str) -> Any:
        """Find and import component ``name`` of ``kind``."""
        return self.find(kind, name).load()

    def clashes(self) -> list[tuple[str, str, list[str]]]:
        """``(kind, name, distributions)`` for every name registered by several distributions."""
        found = []
        for kind in KINDS:
            owners: dict[str, list[str]] = {}
            for c in self._components[kind]:
                owners.setdefault(c.name, []).append(c.distribution)
            found += [(kind, name, dists) for name, dists in owners.items() if len(set(dists)) > 1]
        return found

    def observe(self) -> None:
        """Make the engine's observer hooks see the plugins registered so far."""
        _plugins_changed()


def _entry_points() -> list[_EntryPoint | EntryPoint]:
    """The entry points of the ``databay`` group, one distribution's once, in a stable order."""
    found: list[_EntryPoint] | list[EntryPoint] | None = _scan_entry_points()
    if found is None:
        from importlib.metadata import entry_points

        found = list(entry_points(group="databay"))
    return sorted(found, key=lambda ep: (ep.dist.name if ep.dist else "", ep.name))


class _Distribution:
    """The little of a distribution's metadata a listing needs."""

    __slots__ = ("name", "version")

    def __init__(self, name: str, version: str):
        self.name, self.version = name, version


class _EntryPoint:
    """An entry point found by :func:`_scan_entry_points`; loads like importlib's."""

    __slots__ = ("name", "value", "dist")

    def __init__(self, name: str, value: str, dist: _Distribution):
        self.name, self.value, self.dist = name, value, dist

    def load(self) -> Any:
        module_name, _, attr = self.value.partition(":")
        value: Any = importlib.import_module(module_name.strip())
        for part in attr.split("[", 1)[0].strip().split(".") if attr.strip() else []:
            value = getattr(value, part)
        return value


def _scan_entry_points(group: str = "databay") -> list[_EntryPoint] | None:
    """Read ``group``'s entry points straight from the ``*.dist-info`` folders on ``sys.path``.

    Importing :mod:`importlib.metadata` (pathlib, zipfile, email, csv) costs a quarter of
    ``databay plugins``' start-up; this reads the same files for plain folders. Like
    importlib.metadata, the first distribution of a name on ``sys.path`` wins. Returns
    ``None`` (use importlib.metadata) when something on the path is not a plain folder or
    another finder can provide distributions.
    """
    import sys
    from importlib.machinery import PathFinder

    if any(hasattr(f, "find_distributions") and f is not PathFinder for f in sys.meta_path):
        return None
    seen: set[str] = set()
    found: list[_EntryPoint] = []
    for entry in sys.path:
        directory = entry or "."
        try:
            names = os.listdir(directory)
        except NotADirectoryError:
            return None  # a zip or an egg file: leave it to importlib.metadata
        except OSError:
            continue
        for folder in names:
            if not folder.endswith((".dist-info", ".egg-info")):
                continue
            key = normalize(folder.rpartition(".")[0].split("-", 1)[0])
            if key in seen:
                continue
            seen.add(key)
            path = os.path.join(directory, folder)
            try:
                with open(os.path.join(path, "entry_points.txt"), encoding="utf-8") as file:
                    pairs = _section(file.read(), group)
            except OSError:
                continue
            if pairs:
                dist = _read_distribution(path)
                found += [_EntryPoint(name, value, dist) for name, value in pairs]
    return found


def _section(text: str, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` pairs of section ``[group]`` of an ``entry_points.txt``."""
    pairs, inside = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line[0] == "[" and line[-1] == "]":
            inside = line[1:-1].strip() == group
        elif inside and "=" in line:
            name, _, value = line.partition("=")
            pairs.append((name.strip(), value.strip()))
    return pairs


def _read_distribution(path: str) -> _Distribution:
    """Name and version from the headers of ``METADATA`` (or ``PKG-INFO``) in ``path``."""
    fields: dict[str, str] = {}
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(path, filename), encoding="utf-8") as file:
                for line in file:
                    if not line.strip():
                        break
                    key, _, value = line.partition(":")
                    if key in ("Name", "Version") and key not in fields:
                        fields[key] = value.strip()
            break
        except OSError:
            continue
    folder = os.path.basename(path).rpartition(".")[0]
    return _Distribution(fields.get("Name", folder.split("-", 1)[0]), fields.get("Version", "unknown"))


def settings_from_environment() -> tuple[set[str] | None, bool]:
    """``(load_only, strict)`` from ``DATABAY_LOAD_PLUGINS`` and ``DATABAY_STRICT_PLUGINS``."""
    raw = os.environ.get("DATABAY_LOAD_PLUGINS")
    load_only = None if raw is None else {normalize(n.strip()) for n in raw.split(",") if n.strip()}
    strict = os.environ.get("DATABAY_STRICT_PLUGINS", "").strip().lower() in {"1", "true", "yes", "on"}
    return load_only, strict


_manager: PluginManager | None = None
_manager_lock = threading.RLock()


def get_plugin_manager(strict: bool | None = None) -> PluginManager:
    """The process-wide plugin manager, loaded on first use.

    :param strict: override ``DATABAY_STRICT_PLUGINS`` (only effective on first load).
    """
    global _manager
    with _manager_lock:
        if _manager is None:
            load_only, env_strict = settings_from_environment()
            manager = PluginManager(load_only, env_strict if strict is None else strict)
            _manager = manager.load()
        return _manager


def set_plugin_manager(manager: PluginManager | None) -> None:
    """Make ``manager`` the process-wide plugin manager (for tests and embedding).

    ``None`` forgets the loaded plugins: the next use loads them again.
    """
    global _manager
    with _manager_lock:
        _manager = manager
    _plugins_changed()


_change_listeners: list[Callable[[], None]] = []


def on_plugins_changed(listener: Callable[[], None]) -> None:
    """Call ``listener()`` whenever the loaded plugins change (``databay.observers`` finds
    out again who observes transfers): the layers above the plugin system subscribe here
    rather than being called by name."""
    _change_listeners.append(listener)


def _plugins_changed() -> None:
    for listener in list(_change_listeners):
        listener()


def reset_plugin_manager() -> None:
    """Forget the loaded plugins; the next use loads them again (for tests)."""
    set_plugin_manager(None)


def component_getattr(kind: str, module_name: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving registered components of ``kind`` by class name.

    Unknown names raise ``AttributeError``; names of components that a known but
    uninstalled distribution provides raise ``ImportError`` saying what to install.
    """

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        manager = get_plugin_manager()
        try:
            return manager.find(kind, name).load()
        except ComponentNotFoundError as exc:
            provider = catalog.provider_of(kind, name)
            if provider is not None and provider in manager.plugins:  # loaded but broken: the manager says so
                raise ImportError(str(exc), name=module_name) from None
            if provider is not None and manager.leaves_out(provider):
                raise ImportError(f"{name} is provided by the plugin distribution {provider}, which "
                                  f"DATABAY_LOAD_PLUGINS leaves out", name=module_name) from None
            if provider is not None:
                raise ImportError(
                    f"{name} is provided by the plugin distribution {provider}, which is not "
                    f"installed. Install it with: pip install {provider}",
                    name=module_name,
                ) from None
            raise AttributeError(f"module {module_name!r} has no attribute {name!r} ({exc})") from None
        except PluginError as exc:
            raise ImportError(str(exc), name=module_name) from None

    return __getattr__


def legacy_module_getattr(kind: str, class_name: str, module_name: str) -> Callable[[str], Any]:
    """A ``__getattr__`` for databay 0.3's module of a component that now lives in a plugin.

    ``from databay.outlets.mongo_outlet import MongoOutlet`` keeps working: the class is
    resolved through the plugins (an ``ImportError`` says what to install when none
    provides it), and any other name is looked up in the module that defines the class.
    """
    resolve = component_getattr(kind, module_name)

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        component = resolve(class_name)
        if name == class_name:
            return component
        import sys

        try:
            return getattr(sys.modules[component.__module__], name)
        except AttributeError:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}") from None

    return __getattr__
