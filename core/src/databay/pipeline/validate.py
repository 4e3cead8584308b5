"""Checking a parsed pipeline without building or connecting anything.

:class:`Checker` walks the document once, collecting every :class:`Problem` with its
place, and produces a :class:`~databay.pipeline.specs.PipelineSpec` when there are none.
It imports the classes the file names (to read their constructors) and the import
strings it gives, and nothing else; no constructor runs.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Any

from databay.errors import PluginError
from databay.introspect import ParameterInfo, constructor_parameters
from databay.pipeline import keys
from databay.pipeline.environment import expand_all
from databay.pipeline.keys import INVALID, USE, Key
from databay.pipeline.problems import Problem
from databay.pipeline.specs import ComponentSpec, LinkSpec, PipelineSpec
from databay.pipeline.typecheck import Mismatch, coerce, imported_callable, shown
from databay.plugins import PluginManager, normalize

TOP = "pipeline"
DEFAULT_PLANNER = "schedule"


def suggestion(word: str, choices: list[str]) -> str:
    """`` (did you mean 'x'?)`` when one of ``choices`` is close to ``word``, else ``""``."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class Checker:
    """Checks one pipeline document; :attr:`problems` holds what is wrong.

    :param manager: the plugin manager that resolves ``use`` names.
    :param environ: where ``${VAR}`` is looked up.
    """

    def __init__(self, manager: PluginManager, environ: Mapping[str, str] | None = None):
        self.manager = manager
        self.environ = os.environ if environ is None else environ
        self.problems: list[Problem] = []
        self._constructors: dict[int, tuple[Any, dict[str, ParameterInfo], bool]] = {}

    def problem(self, place: str, message: str) -> None:
        """Report ``message`` about ``place``."""
        self.problems.append(Problem(place, message))

    # -- the document ------------------------------------------------------------

    def pipeline(self, document: dict[str, Any], source: str) -> PipelineSpec | None:
        """The checked pipeline, or ``None`` when :attr:`problems` says what is wrong."""
        for key in document:
            if key not in keys.TOP_LEVEL:
                hint = suggestion(key, list(keys.TOP_LEVEL)) or f" (a pipeline has {' and '.join(keys.TOP_LEVEL)})"
                self.problem(TOP, f"unknown top-level key '{key}'{hint}")
        planner = self.planner(document.get("planner", {}))
        links = self.links(document.get("links"))
        notifiers = self.notifiers(document.get("notifiers"))
        if self.problems or planner is None:
            return None
        return PipelineSpec(source, planner, links, notifiers)

    def planner(self, value: Any) -> ComponentSpec | None:
        if isinstance(value, dict) and USE not in value:
            value = {USE: DEFAULT_PLANNER, **value}
        return self.component("planner", value, "planner")

    def links(self, value: Any) -> list[LinkSpec]:
        if value is None or value == []:
            self.problem(TOP, "no links: add a [[links]] table")
            return []
        if not isinstance(value, list):
            self.problem(TOP, f"'links' must be [[links]] tables, not {shown(value)}")
            return []
        links = []
        for index, table in enumerate(value):
            place = f"links[{index}]"
            if not isinstance(table, dict):
                self.problem(place, f"expected a [[links]] table, not {shown(table)}")
                continue
            links.append(self.link(table, place))
        self._check_distinct_tags(links)
        self._check_distinct_stages(links)
        return links

    def notifiers(self, value: Any) -> list[ComponentSpec]:
        """The ``[[notifiers]]`` tables: registered notifiers that watch the run."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(TOP, f"'notifiers' must be [[notifiers]] tables, not {shown(value)}")
            return []
        specs = [self.component("notifier", table, f"notifiers[{index}]") for index, table in enumerate(value)]
        return [spec for spec in specs if spec is not None]

    def link(self, table: dict[str, Any], place: str) -> LinkSpec:
        from databay.link import Link

        arguments, settings = self.arguments(Link, table, place, place, keys.RESERVED["link"],
                                             required_elsewhere=frozenset({"inlets", "outlets"}))
        for key in ("inlets", "outlets"):
            if key not in table or arguments.get(key) == []:
                kind = key[:-1]
                self.problem(place, f"no {key}: add {key} = [{{ use = \"...\" }}] (a registered {kind})")
        if "stage_retention" in table and "stage" not in table:
            self.problem(place, "'stage_retention' is how long the link's stage keeps delivered batches: "
                                "add a stage")
        return LinkSpec(place, arguments, settings, table)

    def _check_distinct_tags(self, links: list[LinkSpec]) -> None:
        seen: dict[tuple[str, ...], str] = {}
        for link in links:
            tags = tuple(link.tags)
            if not tags:
                continue
            if tags in seen:
                self.problem(link.place, f"same tags as {seen[tags]} ({'.'.join(tags)}): tags name a link in "
                                         f"logs and in the live view, give each link its own")
            else:
                seen[tags] = link.place

    def _check_distinct_stages(self, links: list[LinkSpec]) -> None:
        seen: dict[str, str] = {}
        for link in links:
            stage = link.arguments.get("stage")
            if isinstance(stage, ComponentSpec):  # the SQLite backend's table names its file
                stage = stage.arguments.get("path") if stage.use in ("sqlite", "databay:sqlite") else None
            if not isinstance(stage, (str, os.PathLike)):
                continue
            path = os.path.abspath(stage)
            if path in seen:
                self.problem(link.place, f"same stage as {seen[path]} ({stage}): a stage serves one link, "
                                         f"give each link its own file")
            else:
                seen[path] = link.place

    # -- components --------------------------------------------------------------

    def component_list(self, kind: str, value: Any, place: str, key: str) -> Any:
        """The components under ``key`` of the table at ``place``: one, or a list, of tables or names."""
        entries = value if isinstance(value, list) else [value]
        specs = []
        for index, entry in enumerate(entries):
            where = f"{place}.{key}[{index}]" if isinstance(value, list) else f"{place}.{key}"
            spec = self.component(kind, entry, where)
            if spec is not None:
                specs.append(spec)
        return specs if len(specs) == len(entries) else INVALID

    def component(self, kind: str, entry: Any, place: str) -> ComponentSpec | None:
        """A checked component table (or a bare name), or ``None`` after reporting problems."""
        if isinstance(entry, str):
            entry = {USE: entry}
        if not isinstance(entry, dict):
            article = "an" if kind[0] in "aeiou" else "a"
            self.problem(place, f"expected a table such as {{ use = \"...\" }} or {article} {kind} name, "
                                f"not {shown(entry)}")
            return None
        if USE not in entry:
            self.problem(place, f"missing 'use': the registered {kind} to use, e.g. {{ use = \"...\" }}")
            return None
        use = self.expanded(entry[USE], place, USE)
        if use is INVALID:
            return None
        if not isinstance(use, str):
            self.problem(place, f"'use' must be a {kind} name, not {shown(use)}")
            return None
        use = str(use)
        label = f"{place} ({use})"
        target = self.resolve(kind, use, label)
        if target is INVALID:
            return None
        spec = ComponentSpec(kind, place, use, target, written=entry)
        rest = {k: v for k, v in entry.items() if k != USE}
        if not spec.constructed:
            if rest:
                self.problem(label, f"'{use}' is a function, used as it is: it takes no arguments "
                                    f"(got {', '.join(rest)})")
                return None
            return spec
        before = len(self.problems)
        spec.arguments, spec.settings = self.arguments(target, rest, place, label, keys.RESERVED[kind])
        return spec if len(self.problems) == before else None

    def resolve(self, kind: str, use: str, label: str) -> Any:
        """The class or callable ``use`` names: a registered component, or ``module:attr``."""
        left, colon, _ = use.rpartition(":")
        if colon and normalize(left) not in self.manager.plugins:
            try:
                return imported_callable(use)
            except Mismatch as exc:
                self.problem(label, exc.detail or f"'{use}' is neither a {kind} name nor an import string "
                                                  f"'package.module:attr'")
                return INVALID
        try:
            return self.manager.find(kind, use).load()
        except PluginError as exc:
            self.problem(label, str(exc))
            return INVALID

    # -- arguments ---------------------------------------------------------------

    def arguments(self, target: Any, table: dict[str, Any], place: str, label: str, reserved: dict[str, Key],
                  required_elsewhere: frozenset[str] = frozenset()) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(arguments, settings)`` of ``target`` from the table at ``place``, problems at ``label``."""
        params, open_kwargs = self._constructor(target)
        arguments: dict[str, Any] = {}
        settings: dict[str, Any] = {}
        for key, written in table.items():
            rule = reserved.get(key)
            accepted = key in params or open_kwargs
            if not accepted and (rule is None or rule.argument):
                self.problem(label, self._unknown_argument(key, list(params), target))
                continue
            value = written if rule is not None and not rule.expand else self.expanded(written, label, key)
            if value is INVALID:
                continue
            if rule is not None:
                value = rule.read(self, value, place, label)
                if value is not INVALID:
                    (arguments if rule.argument else settings)[key] = value
                continue
            try:
                arguments[key] = coerce(value, params[key].hint if key in params else Any)
            except Mismatch as exc:
                self.problem(label, exc.describe(key))
        for param in params.values():
            if param.required and param.name not in table and param.name not in required_elsewhere:
                self.problem(label, f"missing required argument '{param.name}'")
        return arguments, settings

    def _constructor(self, target: Any) -> tuple[dict[str, ParameterInfo], bool]:
        """``(parameters by name, accepts **kwargs)`` of ``target``, read once per checker."""
        known = self._constructors.get(id(target))
        if known is None or known[0] is not target:
            params, open_kwargs = constructor_parameters(target)
            known = self._constructors[id(target)] = (target, {p.name: p for p in params}, open_kwargs)
        return known[1:]

    @staticmethod
    def _unknown_argument(key: str, names: list[str], target: Any) -> str:
        hint = suggestion(key, names)
        if not hint:
            name = getattr(target, "__name__", str(target))
            hint = f" ({name} takes {', '.join(names)})" if names else f" ({name} takes no arguments)"
        return f"unknown argument '{key}'{hint}"

    def expanded(self, value: Any, label: str, key: str) -> Any:
        """``value`` with its ``${...}`` expanded, or :data:`INVALID` after reporting."""
        value, problems = expand_all(value, self.environ)
        for problem in problems:  # "[1]: ...", ".key: ..." inside the value, or just "..."
            inside = problem.startswith(("[", "."))
            self.problem(label, f"argument '{key}'{problem}" if inside else f"argument '{key}': {problem}")
        return INVALID if problems else value
