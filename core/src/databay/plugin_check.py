"""``databay plugins --check``: does every registered component honour the plugin contract?

Checked for each component: it imports; an inlet, outlet or planner is a concrete
subclass of ``Inlet``, ``Outlet`` or ``BasePlanner``, a processor is callable; its
constructor's signature can be read (what ``databay inspect`` and pipelines rely on);
its name is registered by no other distribution. Broken plugins are failures too, and
the ``databay_register_commands`` hook of each plugin must run on a scratch application.
"""

from __future__ import annotations

import inspect
from abc import ABC
from dataclasses import dataclass

from databay.plugins import CORE_DISTRIBUTION, KINDS, Component, PluginManager


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one component (or one broken plugin)."""

    subject: str
    kind: str
    ok: bool
    detail: str

    @property
    def distribution(self) -> str:
        return self.subject.split(":", 1)[0]

    def as_dict(self) -> dict:
        return {"subject": self.subject, "kind": self.kind, "distribution": self.distribution,
                "ok": self.ok, "detail": self.detail}


def _base_of(kind: str) -> type[ABC] | None:
    from databay.base_planner import BasePlanner
    from databay.inlet import Inlet
    from databay.outlet import Outlet
    from databay.stage.base import Stage

    bases: dict[str, type[ABC]] = {"inlet": Inlet, "outlet": Outlet, "planner": BasePlanner, "stage": Stage}
    return bases.get(kind)


def check_component(component: Component, clashing: set[tuple[str, str]]) -> Verdict:
    """Import ``component`` and check its type, its constructor and its name."""
    subject = component.qualified_name
    try:
        target = component.load()
    except Exception as exc:
        return Verdict(subject, component.kind, False, f"does not import: {exc}")
    base = _base_of(component.kind)
    if base is not None:
        if not (inspect.isclass(target) and issubclass(target, base)):
            return Verdict(subject, component.kind, False,
                           f"{component.import_path} is not a subclass of {base.__name__}")
        if inspect.isabstract(target):
            missing = ", ".join(sorted(target.__abstractmethods__))
            return Verdict(subject, component.kind, False, f"is abstract (does not implement {missing})")
    elif not callable(target):
        return Verdict(subject, component.kind, False, f"{component.import_path} is not callable")
    try:
        inspect.signature(target)
    except (TypeError, ValueError) as exc:
        return Verdict(subject, component.kind, False, f"constructor cannot be inspected: {exc}")
    if (component.kind, component.name) in clashing:
        return Verdict(subject, component.kind, False,
                       f"name '{component.name}' is also registered by another distribution")
    return Verdict(subject, component.kind, True, component.import_path)


def check_all(manager: PluginManager) -> list[Verdict]:
    """A verdict for every broken plugin and every registered component."""
    verdicts = [
        Verdict(info.name, "plugin", False, info.error)
        for info in manager.plugins.values() if info.error
    ]
    clashing = {(kind, name) for kind, name, _ in manager.clashes()}
    for kind in KINDS:
        verdicts += [check_component(c, clashing) for c in manager.components(kind)]
    return verdicts + check_commands(manager)


def check_commands(manager: PluginManager) -> list[Verdict]:
    """A verdict for each plugin implementing ``databay_register_commands``: does the hook run?"""
    impls = manager.pm.hook.databay_register_commands.get_hookimpls()
    if not impls:
        return []
    import typer  # only when a plugin adds commands

    verdicts = []
    for impl in impls:
        distribution = impl.plugin_name.split(":", 1)[0]
        if distribution == CORE_DISTRIBUTION:
            continue
        app = typer.Typer()
        try:
            impl.function(**({"app": app} if "app" in impl.argnames else {}))
        except Exception as exc:
            verdicts.append(Verdict(distribution, "commands", False,
                                    f"databay_register_commands failed: {type(exc).__name__}: {exc}"))
            continue
        added = [c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands if c.callback]
        added += [g.name or "?" for g in app.registered_groups]
        detail = f"adds {', '.join(added)}" if added else "adds no command"
        verdicts.append(Verdict(distribution, "commands", True, detail))
    return verdicts
