"""A checked pipeline: what to build, before anything is built."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from databay.pipeline.problems import Problem


@dataclass
class ComponentSpec:
    """A checked component table: an inlet, outlet, planner, processor or notifier.

    :param kind: ``inlet``, ``outlet``, ``planner``, ``processor`` or ``notifier``.
    :param place: where its table is, e.g. ``links[0].outlets[1]``.
    :param use: the registered name or import string, as written.
    :param target: the class (or callable) it names.
    :param arguments: constructor arguments, converted; component specs among them (an
        outlet's processors) are built first.
    :param settings: reserved keys that are not constructor arguments, for
        :mod:`databay.pipeline.keys` to apply once the object is built.
    :param written: the table as written in the file (before ``${...}`` expansion).
    :param name: the name of a named component (``[inlets.NAME]``): one instance, however
        many links use it.
    :param profile: the credential profile its arguments were merged from.
    :param from_profile: the arguments that came from it (secrets, however short).
    """

    kind: str
    place: str
    use: str
    target: Any
    arguments: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    written: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    profile: str | None = None
    from_profile: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        """``place (use)``: how problems name this component."""
        return f"{self.place} ({self.use})"

    @property
    def constructed(self) -> bool:
        """Whether building calls ``target`` (a class) rather than using it as it is (a function)."""
        return self.kind != "processor" or inspect.isclass(self.target)


@dataclass
class LinkSpec:
    """A checked ``[[links]]`` table.

    :param place: ``links[N]``.
    :param arguments: ``Link`` arguments; ``inlets``, ``outlets``, ``processors`` and
        ``groupers`` hold :class:`ComponentSpec` lists.
    :param settings: reserved keys that are not ``Link`` arguments.
    :param written: the table as written in the file.
    """

    place: str
    arguments: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    written: dict[str, Any] = field(default_factory=dict)

    @property
    def tags(self) -> list[str]:
        tags = self.arguments.get("tags")
        return [tags] if isinstance(tags, str) else list(tags or [])

    @property
    def label(self) -> str:
        """``links[N]`` followed by the tags, for people: ``links[0] todos``."""
        return f"{self.place} {'.'.join(self.tags)}" if self.tags else self.place

    def components(self, key: str) -> list[ComponentSpec]:
        """The checked ``inlets``, ``outlets``, ``processors`` or ``groupers``."""
        return list(self.arguments.get(key) or [])


@dataclass
class PipelineSpec:
    """A checked pipeline: its planner, its links, its notifiers and its services.

    :param source: the file's path, or ``<text>``.
    :param services: the top-level tables of registered services (``[web]``).
    :param warnings: what is odd but does not stop it (a named component no link uses).
    :param lines: the line of each key path in the file, where the format tells it.
    """

    source: str
    planner: ComponentSpec
    links: list[LinkSpec]
    notifiers: list[ComponentSpec] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    lines: Mapping[str, int] = field(default_factory=dict)
    services: list[ComponentSpec] = field(default_factory=list)
