"""The kinds of component plugins register: the hook registering each, and what a target must be.

A registered target is trusted only once it is shown to be what its kind needs: a plugin
that registers ``"os:system"`` as an inlet gets an error naming it when the inlet is
resolved (by a pipeline, ``databay validate``, ``databay inspect``, ``databay plugins
--check`` or ``from databay.inlets import ...``), never a call of ``os.system``. What a
pipeline names by import string (``processors = ["os:system"]``) is held to the same
contract (:meth:`Kind.problem_with`).

The base classes are named here by their public import path and imported only when a
target is checked, so that listing plugins imports none of the model. Adding a kind is one
entry in :data:`KINDS` (and its hook in :mod:`databay.hookspecs`).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Contract = Callable[[Any], "str | None"]
"""Checks a loaded target: ``None`` when it is fit for its kind, else what is wrong."""


@dataclass(frozen=True)
class Kind:
    """One kind of component.

    :param name: the kind, singular (``inlet``): ``register`` names, ``--kind`` values, pipeline errors.
    :param hook: the registration hook (``databay_register_inlets``).
    :param must_be: what a target must be, for error messages.
    :param contract: checks a loaded target.
    """

    name: str
    hook: str
    must_be: str
    contract: Contract

    def problem_with(self, target: Any, path: str, named: str | None = None) -> str | None:
        """Why ``target``, found at the import string ``path``, cannot be a component of this
        kind (``os:system is a built-in function, not a subclass of databay.Inlet; an inlet
        must be ...``), or ``None`` when it can.

        :param named: how the message names a component of this kind (default: ``an inlet``).
        """
        problem = self.contract(target)
        if problem is None:
            return None
        named = named or f"{'an' if self.name[0] in 'aeiou' else 'a'} {self.name}"
        return f"{path} {problem}; {named} must be {self.must_be}"


def describe(target: Any) -> str:
    """What ``target`` is, for a message: ``a built-in function``, ``a class``, ``a 'str' object``."""
    if inspect.isclass(target):
        return "a class"
    if inspect.isbuiltin(target):
        return "a built-in function"
    if inspect.isfunction(target) or inspect.ismethod(target):
        return "a function"
    if inspect.ismodule(target):
        return "a module"
    return f"a {type(target).__name__!r} object"


def _public(path: str) -> type:
    """The class at ``"module:Name"`` (a public path of core, imported when first needed)."""
    module, _, name = path.partition(":")
    found: type = getattr(importlib.import_module(module), name)
    return found


def _abstract(target: Any) -> str | None:
    if inspect.isabstract(target):
        return f"is abstract (does not implement {', '.join(sorted(target.__abstractmethods__))})"
    return None


def subclass_of(path: str) -> Contract:
    """The contract of kinds whose components are classes built from pipeline arguments:
    a concrete subclass of the class at ``path``."""
    shown = path.replace(":", ".")

    def contract(target: Any) -> str | None:
        if not (inspect.isclass(target) and issubclass(target, _public(path))):
            return f"is {describe(target)}, not a subclass of {shown}"
        return _abstract(target)

    return contract


def _processor(target: Any) -> str | None:
    """A class whose instances process records, or a function taking the records."""
    if inspect.isclass(target):
        if not any("__call__" in vars(owner) for owner in target.__mro__ if owner is not object):
            return f"is {describe(target)} whose instances cannot be called with records"
        return _abstract(target)
    if not callable(target) or inspect.isbuiltin(target) or inspect.ismodule(target):
        return f"is {describe(target)}, not a processor"
    try:
        inspect.signature(target).bind([])
    except (TypeError, ValueError):
        return f"is {describe(target)} that cannot be called with the records as its one argument"
    return None


def _notifier(target: Any) -> str | None:
    """A :class:`~databay.notifier.Notifier` subclass, or a class with observer hooks."""
    if not inspect.isclass(target):
        return f"is {describe(target)}, not a class"
    if issubclass(target, _public("databay.notifier:Notifier")):
        return _abstract(target)
    marked = [name for name, value in inspect.getmembers(target) if getattr(value, "databay_impl", None)]
    if not marked:
        return f"is {describe(target)} that is no Notifier subclass and implements no observer hook"
    return None


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("inlet", "databay_register_inlets", "a concrete subclass of databay.Inlet", subclass_of("databay:Inlet")),
    Kind("outlet", "databay_register_outlets", "a concrete subclass of databay.Outlet",
         subclass_of("databay:Outlet")),
    Kind("planner", "databay_register_planners", "a concrete subclass of databay.BasePlanner",
         subclass_of("databay:BasePlanner")),
    Kind("processor", "databay_register_processors",
         "a function taking the records, or a class whose instances are such functions", _processor),
    Kind("notifier", "databay_register_notifiers",
         "a databay.notifier.Notifier subclass, or a class implementing observer hooks", _notifier),
    Kind("stage", "databay_register_stages", "a concrete subclass of databay.stage.Stage",
         subclass_of("databay.stage:Stage")),
)}
"""Every component kind, by name."""

KIND_NAMES: tuple[str, ...] = tuple(KINDS)
"""The kind names, in listing order."""

KIND_OF_HOOK: dict[str, str] = {kind.hook: kind.name for kind in KINDS.values()}
"""The kind each registration hook registers."""
