"""What the loaded plugins registered, and which component a name means.

A :class:`Registry` holds the plugin distributions (:class:`PluginInfo`) and their
components (:class:`Component`) of every kind, and answers lookups by name, class name or
``distribution:name``, with errors that say what would help: a close name, the
distribution to install, the plugins that are broken, the qualified names to choose from.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any

from databay import catalog
from databay.errors import AmbiguousComponentError, ComponentNotFoundError, PluginError
from databay.plugins.kinds import KIND_NAMES, KINDS

CORE_DISTRIBUTION = "databay"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
"""What a component name looks like: short, lowercase."""
TARGET_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
"""What a lazy target looks like: ``package.module:Attr``."""


def normalize(distribution: str) -> str:
    """Canonical form of a distribution name (PEP 503): ``Databay_HTTP`` -> ``databay-http``."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


@dataclass
class Component:
    """A component a plugin registered: its kind, its name and its target, a class (or
    function) or a lazy ``"package.module:Attr"`` string."""

    kind: str
    name: str
    target: Any
    distribution: str
    _loaded: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_registration(cls, kind: str, name: Any, target: Any, distribution: str) -> Component:
        """The component ``register(name, target)`` describes, when both are well formed.

        :raises ValueError: a name that is not short and lowercase, a target that is neither
            ``"module:Attr"`` nor callable.
        """
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ValueError(f"{kind} name {name!r} must be short and lowercase, like 'my_{kind}'")
        if isinstance(target, str):
            if not TARGET_PATTERN.match(target):
                raise ValueError(f"{kind} '{name}': target {target!r} is not 'package.module:Attr'")
        elif not callable(target):
            raise ValueError(f"{kind} '{name}': target must be a class, a callable or 'module:Attr'")
        return cls(kind, name, target, distribution)

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

    def import_target(self) -> Any:
        """The target, imported if it is a string; not checked (see :meth:`load`).

        :raises PluginError: it cannot be imported, or has no such attribute.
        """
        if not isinstance(self.target, str):
            return self.target
        module_name, attr = self.target.split(":", 1)
        try:
            value: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                value = getattr(value, part)
        except ImportError as exc:
            raise PluginError(f"{self.kind} '{self.name}' of {self.distribution} cannot be imported "
                              f"from {self.target}: {exc}") from exc
        except AttributeError as exc:
            raise PluginError(f"{self.kind} '{self.name}' of {self.distribution}: {self.target} "
                              f"does not exist ({exc})") from exc
        return value

    def contract_problem(self, target: Any) -> str | None:
        """Why ``target`` (this component's, imported) is unfit for its kind, or ``None``."""
        return KINDS[self.kind].problem_with(target, self.import_path, f"a registered {self.kind}")

    def load(self) -> Any:
        """Import (once) and return the target, checked against its kind's contract.

        :raises PluginError: it cannot be imported, or is not what its kind needs (an
            inlet that is no ``Inlet`` subclass...): the message names the plugin.
        """
        if self._loaded is None:
            target = self.import_target()
            problem = self.contract_problem(target)
            if problem is not None:
                raise PluginError(f"{self.kind} '{self.name}' of {self.distribution}: {problem}")
            self._loaded = target
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
        for kind in KIND_NAMES:
            data[f"{kind}s"] = [
                {"name": c.name, "class": c.class_name, "target": c.import_path}
                for c in self.of_kind(kind)
            ]
        data["error"] = self.error
        return data


class Registry:
    """The plugin distributions and the components they registered, by kind.

    :param load_only: the distributions selected (``DATABAY_LOAD_PLUGINS``); ``None``: all.
    """

    def __init__(self, load_only: set[str] | None = None):
        self.load_only = load_only
        self.plugins: dict[str, PluginInfo] = {}
        self._components: dict[str, list[Component]] = {kind: [] for kind in KIND_NAMES}

    def add(self, info: PluginInfo, components: list[Component]) -> None:
        """Record ``components`` as registered by ``info``'s distribution."""
        info.components.extend(components)
        for component in components:
            self._components[component.kind].append(component)

    def withdraw(self, info: PluginInfo) -> None:
        """Forget every component of ``info``'s distribution (it turned out broken)."""
        for component in info.components:
            self._components[component.kind].remove(component)
        info.components.clear()

    def components(self, kind: str) -> list[Component]:
        """All components of ``kind`` registered by working plugins."""
        return list(self._components[kind])

    def find(self, kind: str, name: str) -> Component:
        """The component ``name`` (or class name, or ``distribution:name``) of ``kind``.

        :raises ComponentNotFoundError: nothing installed registers it (says what would).
        :raises AmbiguousComponentError: two distributions register it (names both).
        """
        if kind not in self._components:
            raise ValueError(f"unknown component kind {kind!r}; expected one of {', '.join(KIND_NAMES)}")
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

    def resolve(self, kind: str, name: str) -> Any:
        """Find, import and check component ``name`` of ``kind`` (see :meth:`Component.load`)."""
        return self.find(kind, name).load()

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
        names = {c.name for c in self._components[kind]}
        known = sorted(names | {c.class_name for c in self._components[kind]})
        import difflib  # only for this message: keeps it out of start-up

        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        if close:
            message += f" (did you mean {' or '.join(repr(c) for c in close)}?)"
        elif known:
            message += f"; registered {kind}s: {', '.join(sorted(names))}"
        if broken:
            message += f"; broken plugins not loaded: {', '.join(broken)}"
        return message

    def leaves_out(self, distribution: str) -> bool:
        """Whether ``distribution`` is installed but not loaded (``DATABAY_LOAD_PLUGINS``)."""
        if self.load_only is None or normalize(distribution) in self.load_only:
            return False
        from databay.plugins.discovery import is_installed  # only for this message

        return is_installed(distribution)

    def clashes(self) -> list[tuple[str, str, list[str]]]:
        """``(kind, name, distributions)`` for every name registered by several distributions."""
        found = []
        for kind, components in self._components.items():
            owners: dict[str, list[str]] = {}
            for c in components:
                owners.setdefault(c.name, []).append(c.distribution)
            found += [(kind, name, dists) for name, dists in owners.items() if len(set(dists)) > 1]
        return found
