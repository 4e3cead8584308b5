"""Building a checked pipeline: its components, links and planner.

Constructors run here for the first time, once per component table: a named component
(``[inlets.NAME]``) is one object, whichever links use it (its ``on_start`` and
``on_shutdown`` then run once, as for any node several links share). A constructor that
raises is reported as a :class:`~databay.pipeline.problems.Problem` at its place, like any
mistake in the file, and every other component is still built so that all such problems
are reported at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from databay.pipeline import keys
from databay.pipeline.identity import link_identities
from databay.pipeline.problems import PipelineError, Problem, line_of
from databay.pipeline.specs import ComponentSpec, LinkSpec, PipelineSpec

if TYPE_CHECKING:
    from databay.link import Link
    from databay.pipeline.model import Pipeline

_FAILED: Any = object()


class _Builder:
    def __init__(self, lines: Mapping[str, int]) -> None:
        self.lines = lines
        self.problems: list[Problem] = []
        self._built: dict[int, Any] = {}  # id(spec) -> object, so a named component is built once

    def failed(self, label: str, exc: Exception) -> Any:
        self.problems.append(Problem(label, f"could not be built: {type(exc).__name__}: {exc}",
                                     line_of(self.lines, label)))
        return _FAILED

    def arguments(self, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """``arguments`` with the component lists among them built; ``None`` if one failed
        (after building all the others, so that every failure is reported)."""
        built = {}
        for name, value in arguments.items():
            if isinstance(value, list) and any(isinstance(v, ComponentSpec) for v in value):
                value = [self.component(v) for v in value]
            elif isinstance(value, ComponentSpec):  # a link's stage backend
                value = self.component(value)
            built[name] = value
        failed = any(v is _FAILED or isinstance(v, list) and any(i is _FAILED for i in v) for v in built.values())
        return None if failed else built

    def component(self, spec: ComponentSpec) -> Any:
        if id(spec) not in self._built:
            self._built[id(spec)] = self._construct(spec)
        return self._built[id(spec)]

    def _construct(self, spec: ComponentSpec) -> Any:
        if not spec.constructed:
            return spec.target
        arguments = self.arguments(spec.arguments)
        if arguments is None:
            return _FAILED
        try:
            obj = spec.target(**arguments)
        except Exception as exc:  # noqa: BLE001 - any constructor failure is reported with its place
            return self.failed(spec.label, exc)
        return self.settle(obj, spec.settings, keys.RESERVED[spec.kind], spec.label)

    def link(self, spec: LinkSpec) -> Any:
        from databay.link import Link

        arguments = self.arguments(spec.arguments)
        if arguments is None:
            return _FAILED
        try:
            link = Link(**arguments)
        except Exception as exc:  # noqa: BLE001
            return self.failed(spec.place, exc)
        return self.settle(link, spec.settings, keys.RESERVED["link"], spec.place)

    def settle(self, obj: Any, settings: dict[str, Any], reserved: dict[str, keys.Key], label: str) -> Any:
        """Apply the reserved keys that are settings, not constructor arguments."""
        for name, value in settings.items():
            apply = reserved[name].apply
            if apply is None:
                continue
            try:
                apply(obj, value)
            except Exception as exc:  # noqa: BLE001
                return self.failed(f"{label} '{name}'", exc)
        return obj


def build_pipeline(spec: PipelineSpec) -> Pipeline:
    """The planner and links ``spec`` describes, ready to run.

    :raises PipelineError: constructors that raised, each at its place.
    """
    from databay.pipeline.model import Pipeline

    builder = _Builder(spec.lines)
    planner = builder.component(spec.planner)
    links: list[Link] = [builder.link(link) for link in spec.links]
    for link, identity in zip(links, link_identities(spec.links)):
        if link is not _FAILED:
            link.identity = identity
    notifiers = [builder.component(notifier) for notifier in spec.notifiers]
    services = [builder.component(service) for service in spec.services]
    if builder.problems:
        raise PipelineError(spec.source, builder.problems)
    try:
        planner.add_links(links)
    except Exception as exc:  # noqa: BLE001
        builder.failed(spec.planner.label, exc)
        raise PipelineError(spec.source, builder.problems) from None
    return Pipeline(spec, planner, links, notifiers, services)
