"""``databay plugins --check``: does every registered component honour the plugin contract?

Checked for each component: it imports; it is what its kind needs (see
:mod:`databay.plugins.kinds`: a concrete ``Inlet``, ``Outlet`` or ``BasePlanner``
subclass, a processor, a notifier); its constructor's signature can be read (what
``databay inspect`` and pipelines rely on); its name is registered by no other
distribution. Broken plugins are failures too, and the ``databay_register_commands`` hook
of each plugin must run on a scratch application.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from databay.errors import PluginError
from databay.plugins.kinds import KIND_NAMES
from databay.plugins.manager import PluginManager
from databay.plugins.registry import CORE_DISTRIBUTION, Component


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


def check_component(component: Component, clashing: set[tuple[str, str]]) -> Verdict:
    """Import ``component`` and check its kind's contract, its constructor and its name."""
    subject = component.qualified_name

    def failed(detail: str) -> Verdict:
        return Verdict(subject, component.kind, False, detail)

    try:
        target = component.import_target()
    except PluginError as exc:
        return failed(f"does not import: {exc}")
    problem = component.contract_problem(target)
    if problem is not None:
        return failed(problem)
    try:
        inspect.signature(target)
    except (TypeError, ValueError) as exc:
        return failed(f"constructor cannot be inspected: {exc}")
    if (component.kind, component.name) in clashing:
        return failed(f"name '{component.name}' is also registered by another distribution")
    return Verdict(subject, component.kind, True, component.import_path)


def check_all(manager: PluginManager) -> list[Verdict]:
    """A verdict for every broken plugin and every registered component."""
    verdicts = [
        Verdict(info.name, "plugin", False, info.error)
        for info in manager.plugins.values() if info.error
    ]
    clashing = {(kind, name) for kind, name, _ in manager.clashes()}
    for kind in KIND_NAMES:
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
