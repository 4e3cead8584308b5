"""Checking a parsed pipeline without building or connecting anything.

:class:`Checker` walks the document once, collecting every :class:`Problem` with its
place (and its line, where the format tells it), and produces a
:class:`~databay.pipeline.specs.PipelineSpec` when there are none. It imports the classes
the file names (to read their constructors) and the import strings it gives, and nothing
else; no constructor runs.

Named components (``[inlets.NAME]``, ``[outlets.NAME]``) are checked once, where they are
defined; every link naming one gets the same :class:`ComponentSpec`, so that building
makes one instance. A definition no link uses is a warning (:attr:`Checker.warnings`).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from databay.errors import ComponentNotFoundError, PluginError
from databay.introspect import ParameterInfo, constructor_parameters
from databay.pipeline import keys, schedule_keys
from databay.pipeline.environment import expand_all
from databay.pipeline.keys import INVALID, PROFILE, USE, Key
from databay.pipeline.problems import Problem, line_of
from databay.pipeline.profiles import ProfileError, Profiles
from databay.pipeline.specs import ComponentSpec, LinkSpec, PipelineSpec
from databay.pipeline.typecheck import Mismatch, coerce, imported_callable, shown
from databay.plugins import PluginManager, normalize
from databay.plugins.kinds import KINDS as KIND_CONTRACTS

TOP = "pipeline"
DEFAULT_PLANNER = "schedule"
NAMED_KINDS = ("inlet", "outlet")
"""The kinds a pipeline may define by name at its top level (``[inlets.NAME]``)."""
_COMPONENT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def suggestion(word: str, choices: list[str]) -> str:
    """`` (did you mean 'x'?)`` when one of ``choices`` is close to ``word``, else ``""``."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _null_hint(value: Any, kind: str) -> str:
    """For YAML, where a bare ``null`` is no value: how to name the ``null`` component."""
    return f" (in YAML, write \"null\" in quotes for the null {kind})" if value is None else ""


@dataclass
class _Definition:
    """A named component: its spec (``None`` when its table has problems) and whether a link uses it."""

    spec: ComponentSpec | None
    used: bool = False


class Checker:
    """Checks one pipeline document; :attr:`problems` holds what is wrong.

    :param manager: the plugin manager that resolves ``use`` names.
    :param environ: where ``${VAR}`` and the profiles file are looked up.
    :param lines: the line of each key path, where the format tells it.
    """

    def __init__(self, manager: PluginManager, environ: Mapping[str, str] | None = None,
                 lines: Mapping[str, int] | None = None):
        self.manager = manager
        self.environ = os.environ if environ is None else environ
        self.lines = lines or {}
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.profiles = Profiles(self.environ)
        self._profile_file_reported = False
        self._definitions: dict[str, dict[str, _Definition]] = {kind: {} for kind in NAMED_KINDS}
        self._constructors: dict[int, tuple[Any, dict[str, ParameterInfo], bool]] = {}
        self.planner_spec: ComponentSpec | None = None
        """The checked planner (``None`` until checked, or when it has problems)."""

    def problem(self, place: str, message: str, key: str | None = None) -> None:
        """Report ``message`` about ``place`` (about its ``key``, when given: for the line)."""
        self.problems.append(self._located(place, message, key))

    def warning(self, place: str, message: str) -> None:
        """Report something that does not stop the pipeline."""
        self.warnings.append(self._located(place, message, None))

    def _located(self, place: str, message: str, key: str | None) -> Problem:
        at = place if key is None else key if place == TOP else f"{place.split(' (', 1)[0]}.{key}"
        return Problem(place, message, line_of(self.lines, at))

    # -- the document ------------------------------------------------------------

    def pipeline(self, document: dict[str, Any], source: str) -> PipelineSpec | None:
        """The checked pipeline, or ``None`` when :attr:`problems` says what is wrong."""
        services = []
        for key, value in document.items():
            if key in keys.TOP_LEVEL:
                continue
            if self._registered("service", key) is not None:
                service = self.service(key, value)
                if service is not None:
                    services.append(service)
                continue
            self.problem(TOP, f"unknown top-level key '{key}'{self._top_level_hint(key)}", key)
        for kind in NAMED_KINDS:
            self.definitions(kind, document.get(f"{kind}s"))
        planner = self.planner(document.get("planner", {}))
        links = self.links(document.get("links"))
        notifiers = self.notifiers(document.get("notifiers"))
        self._warn_unused()
        if self.problems or planner is None:
            return None
        return PipelineSpec(source, planner, links, notifiers, warnings=list(self.warnings), lines=self.lines,
                            services=services)

    def _top_level_hint(self, key: str) -> str:
        from databay.catalog import provider_of

        services = [component.name for component in self.manager.components("service")]
        hint = suggestion(key, [*keys.TOP_LEVEL, *services])
        if hint:
            return hint
        provider = provider_of("service", key)
        if provider is not None:
            return f" (the '{key}' service of {provider}: pip install {provider})"
        return f" (a pipeline has {', '.join(keys.TOP_LEVEL)}, and tables of the services plugins register)"

    def service(self, name: str, table: Any) -> ComponentSpec | None:
        """A ``[NAME]`` table turning on the registered service ``NAME``."""
        if not isinstance(table, dict):
            self.problem(TOP, f"'{name}' must be a table of the {name} service's arguments, such as [{name}], "
                              f"not {shown(table)}", name)
            return None
        if USE in table:
            self.problem(name, f"'use' does not go in a service's table: [{name}] is the '{name}' service", USE)
            return None
        return self.component("service", {USE: name, **table}, name)

    def planner(self, value: Any) -> ComponentSpec | None:
        if isinstance(value, dict) and USE not in value:
            value = {USE: DEFAULT_PLANNER, **value}
        self.planner_spec = self.component("planner", value, "planner")
        return self.planner_spec

    def links(self, value: Any) -> list[LinkSpec]:
        if value is None or value == []:
            self.problem(TOP, "no links: add a [[links]] table")
            return []
        if not isinstance(value, list):
            self.problem(TOP, f"'links' must be [[links]] tables, not {shown(value)}", "links")
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
            self.problem(TOP, f"'notifiers' must be [[notifiers]] tables, not {shown(value)}", "notifiers")
            return []
        specs = [self.component("notifier", table, f"notifiers[{index}]") for index, table in enumerate(value)]
        return [spec for spec in specs if spec is not None]

    def link(self, table: dict[str, Any], place: str) -> LinkSpec:
        from databay.link import Link

        arguments, settings = self.arguments(Link, table, place, place, keys.RESERVED["link"],
                                             required_elsewhere=frozenset({"inlets", "outlets", "interval"}))
        schedule_keys.settle(self, table, place, arguments, settings)
        role = table.get("stage_role")
        for key in ("inlets", "outlets"):
            if (key, role) in (("inlets", "drain"), ("outlets", "fill")):
                arguments.setdefault(key, [])  # a drain link pulls nothing, a fill link delivers nothing
                continue
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
                                         f"logs and in the live view, give each link its own", "tags")
            else:
                seen[tags] = link.place

    def _check_distinct_stages(self, links: list[LinkSpec]) -> None:
        seen: dict[str, str] = {}
        for link in links:
            if link.arguments.get("stage_role", "both") != "both":
                continue  # fill and drain links share their stage
            stage = link.arguments.get("stage")
            if isinstance(stage, ComponentSpec):  # the SQLite backend's table names its file
                stage = stage.arguments.get("path") if stage.use in ("sqlite", "databay:sqlite") else None
            if not isinstance(stage, (str, os.PathLike)):
                continue
            path = os.path.abspath(stage)
            if path in seen:
                self.problem(link.place, f"same stage as {seen[path]} ({stage}): a stage serves one link, "
                                         f"give each link its own file", "stage")
            else:
                seen[path] = link.place

    # -- named components --------------------------------------------------------

    def definitions(self, kind: str, value: Any) -> None:
        """Check the ``[inlets.NAME]`` (or ``[outlets.NAME]``) tables, each once."""
        if value is None:
            return
        if not isinstance(value, dict):
            self.problem(TOP, f"'{kind}s' must be named {kind} tables such as [{kind}s.orders], "
                              f"not {shown(value)}", f"{kind}s")
            return
        for name, table in value.items():
            place = f"{kind}s.{name}"
            if not _COMPONENT_NAME.fullmatch(name):
                self.problem(place, f"'{name}' is not a component name: use letters, digits, '_' and '-'")
                continue
            shadowed = self._registered(kind, name)
            if shadowed is not None:
                self.problem(place, f"'{name}' is the name of the registered {kind} {shadowed}: a named "
                                    f"{kind} may not shadow it, choose another name")
                continue
            spec = self.component(kind, table, place)
            if spec is not None:
                spec.name = name
            self._definitions[kind][name] = _Definition(spec)

    def _registered(self, kind: str, name: str) -> str | None:
        """How the registered component ``name`` is known (``'print' (databay:print)``), or ``None``."""
        try:
            component = self.manager.find(kind, name)
        except ComponentNotFoundError:
            return None
        except PluginError:  # registered by several plugins
            return f"'{name}'"
        return f"'{name}' ({component.qualified_name})"

    def _warn_unused(self) -> None:
        for kind, definitions in self._definitions.items():
            for name, definition in definitions.items():
                if not definition.used and definition.spec is not None:
                    self.warning(definition.spec.label, f"the named {kind} '{name}' is used by no link")

    # -- components --------------------------------------------------------------

    def component_list(self, kind: str, value: Any, place: str, key: str) -> Any:
        """The components under ``key`` of the table at ``place``: one, or a list, of tables or names."""
        entries = value if isinstance(value, list) else [value]
        specs: list[ComponentSpec] = []
        for index, entry in enumerate(entries):
            where = f"{place}.{key}[{index}]" if isinstance(value, list) else f"{place}.{key}"
            spec = self.component(kind, entry, where)
            if spec is None:
                continue
            if spec.name is not None and any(s is spec for s in specs):
                self.problem(where, f"the named {kind} '{spec.name}' is already one of the {key} of {place}")
                continue
            specs.append(spec)
        return specs if len(specs) == len(entries) else INVALID

    def component(self, kind: str, entry: Any, place: str) -> ComponentSpec | None:
        """A checked component table (or a bare name), or ``None`` after reporting problems."""
        if isinstance(entry, str) and entry in self._definitions.get(kind, {}):
            definition = self._definitions[kind][entry]
            definition.used = True
            return definition.spec  # None: its problems are reported where it is defined
        if isinstance(entry, str):
            entry = {USE: entry}
        a_kind = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
        if not isinstance(entry, dict):
            self.problem(place, f"expected a table such as {{ use = \"...\" }} or {a_kind} name, "
                                f"not {shown(entry)}{_null_hint(entry, kind)}")
            return None
        if USE not in entry:
            self.problem(place, f"missing 'use': the registered {kind} to use, e.g. {{ use = \"...\" }}")
            return None
        use = self.expanded(entry[USE], place, USE)
        if use is INVALID:
            return None
        if not isinstance(use, str):
            self.problem(place, f"'use' must be {a_kind} name, not {shown(use)}{_null_hint(use, kind)}", USE)
            return None
        use = str(use)
        label = f"{place} ({use})"
        target = self.resolve(kind, use, label)
        if target is INVALID:
            return None
        spec = ComponentSpec(kind, place, use, target, written=entry)
        rest = {k: v for k, v in entry.items() if k not in (USE, PROFILE)}
        if not spec.constructed:
            if rest or PROFILE in entry:
                self.problem(label, f"'{use}' is a function, used as it is: it takes no arguments "
                                    f"(got {', '.join(k for k in entry if k != USE)})")
                return None
            return spec
        before = len(self.problems)
        from_profile: dict[str, Any] = {}
        if PROFILE in entry:
            spec.profile, from_profile = self.profile(entry[PROFILE], label)
            from_profile = {k: v for k, v in from_profile.items() if k not in rest}
            spec.from_profile = frozenset(from_profile)
        spec.arguments, spec.settings = self.arguments(target, {**from_profile, **rest}, place, label,
                                                       keys.RESERVED[kind], literal=frozenset(from_profile),
                                                       origin=f"profile '{spec.profile}'")
        return spec if len(self.problems) == before else None

    def profile(self, written: Any, label: str) -> tuple[str | None, dict[str, Any]]:
        """``(name, arguments)`` of the profile ``written`` names; problems reported at ``label``."""
        name = self.expanded(written, label, PROFILE)
        if name is INVALID:
            return None, {}
        if not isinstance(name, str) or not name:
            self.problem(label, f"argument 'profile': the name of a profile, not {shown(name)}", PROFILE)
            return None, {}
        try:
            return str(name), self.profiles.get(name)
        except ProfileError as exc:
            if not (exc.about_file and self._profile_file_reported):  # the file's problem, once
                self.problem(label, f"argument 'profile': {exc}", PROFILE)
            self._profile_file_reported |= exc.about_file
            return str(name), {}

    def resolve(self, kind: str, use: str, label: str) -> Any:
        """The class or callable ``use`` names: a registered component, or ``module:attr``;
        either must be what ``kind`` needs (see :mod:`databay.plugins.kinds`)."""
        left, colon, _ = use.rpartition(":")
        if colon and normalize(left) not in self.manager.plugins:
            try:
                target = imported_callable(use)
            except Mismatch as exc:
                self.problem(label, exc.detail or f"'{use}' is neither a {kind} name nor an import string "
                                                  f"'package.module:attr'")
                return INVALID
            unfit = KIND_CONTRACTS[kind].problem_with(target, use)
            if unfit is not None:
                self.problem(label, unfit)
                return INVALID
            return target
        try:
            return self.manager.find(kind, use).load()
        except ComponentNotFoundError as exc:
            self.problem(label, self._not_found(kind, use, str(exc)))
        except PluginError as exc:
            self.problem(label, str(exc))
        return INVALID

    def _not_found(self, kind: str, use: str, message: str) -> str:
        """The plugin manager's ``message``, with what the pipeline's named components tell."""
        definitions = self._definitions.get(kind, {})
        if use in definitions:
            return (f"'{use}' is a named {kind} ({kind}s.{use}): refer to it by its name alone, "
                    f"e.g. {kind}s = [\"{use}\"]")
        close = difflib.get_close_matches(use, list(definitions), n=1, cutoff=0.6)
        if close:
            return f"unknown {kind} '{use}': neither a named nor a registered {kind} (did you mean '{close[0]}'?)"
        for other in NAMED_KINDS:
            if other != kind and use in self._definitions[other]:
                return f"unknown {kind} '{use}': '{use}' is a named {other} ({other}s.{use}), not {kind}"
        return message

    # -- arguments ---------------------------------------------------------------

    def arguments(self, target: Any, table: dict[str, Any], place: str, label: str, reserved: dict[str, Key],
                  required_elsewhere: frozenset[str] = frozenset(), literal: frozenset[str] = frozenset(),
                  origin: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
        """``(arguments, settings)`` of ``target`` from the table at ``place``, problems at ``label``.

        :param literal: keys whose values are taken as written, never expanded (a profile's).
        :param origin: where the ``literal`` keys come from, for problems about them.
        """
        params, open_kwargs = self._constructor(target)
        arguments: dict[str, Any] = {}
        settings: dict[str, Any] = {}
        for key, written in table.items():
            rule = reserved.get(key)
            accepted = key in params or open_kwargs
            if not accepted and (rule is None or rule.argument):
                where = f" (from {origin})" if key in literal else ""
                self.problem(label, self._unknown_argument(key, list(params), target) + where, key)
                continue
            expand = key not in literal and (rule is None or rule.expand)
            value = self.expanded(written, label, key) if expand else written
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
                self.problem(label, exc.describe(key, origin if key in literal else None), key)
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
            self.problem(label, f"argument '{key}'{problem}" if inside else f"argument '{key}': {problem}", key)
        return INVALID if problems else value
