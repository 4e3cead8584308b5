"""The effective configuration of a checked pipeline: what will run, with no secret in it.

``databay validate PIPELINE --show`` prints it. Every component shows every argument its
constructor takes, the defaults filled in; ``${VAR}`` and profiles are applied; named
components and ``use`` names are resolved (to the class and the distribution providing
it). Every value is then passed through :func:`databay.redaction.redact`, value by value,
so that a secret (a ``${VAR}`` value, a profile value) shows as ``${VAR}`` or
``<profile NAME.KEY>``; a number that is a secret becomes that text. Arguments from a
profile show as ``<profile NAME.KEY>`` whatever their value.

:func:`effective_config` gives plain data for JSON; :func:`effective_toml` the same as a
TOML pipeline file, the resolutions in comments (and the arguments a profile gives, so that
the output is a pipeline that runs the same). Text from the file (tags, names, values) is
escaped there: strings as TOML strings whose control characters are all escapes, comments
onto one line (:mod:`databay.printable`), so that the TOML holds no control character.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import inspect
import json
import pathlib
from collections.abc import Mapping
from typing import Any

from databay.introspect import constructor_parameters
from databay.pipeline.intervals import format_interval
from databay.pipeline.keys import USE
from databay.pipeline.specs import ComponentSpec, LinkSpec, PipelineSpec
from databay.printable import printable_line, string_literal
from databay.redaction import redact

# Old names of Link arguments (kept for 0.3 code): a pipeline has no use for them.
_DEPRECATED_LINK_ARGUMENTS = ("name", "catch_exceptions")
_PLAIN = (str, int, float, bool, datetime.datetime, datetime.date, datetime.time)


def effective_config(spec: PipelineSpec) -> dict[str, Any]:
    """The configuration ``spec`` runs with, as JSON-ready data (dates as they are)."""
    links = [_link(link) for link in spec.links]
    _note_sharing(links)
    return {
        "source": spec.source,
        "planner": _component(spec.planner),
        "links": links,
        "notifiers": [_component(notifier) for notifier in spec.notifiers],
        "services": [_component(service) for service in spec.services],
    }


def effective_json(spec: PipelineSpec) -> str:
    """:func:`effective_config` as indented JSON."""
    return redact(json.dumps(effective_config(spec), indent=2, default=str)) + "\n"


def effective_toml(spec: PipelineSpec) -> str:
    """:func:`effective_config` as a TOML pipeline, resolutions and sharing in comments."""
    config = effective_config(spec)
    out = [
        _comment(f"{spec.source}: the configuration as it will run. Defaults are filled in, names"),
        "# resolved, profiles and ${VAR} applied; secrets show as ${VAR} or <profile NAME.KEY>.",
        "# Arguments whose value is None are left out.",
        "",
        "[planner]",
        *_table_lines(config["planner"]),
    ]
    for link in config["links"]:
        out += ["", "[[links]]", _comment(link["label"])]
        out += _assignments(link["arguments"])
        for key in ("inlets", "outlets"):
            for component in link[key]:
                out += ["", f"[[links.{key}]]", *_table_lines(component)]
    for notifier in config["notifiers"]:
        out += ["", "[[notifiers]]", *_table_lines(notifier)]
    for service in config["services"]:  # [web]: the table's name is the service's
        out += ["", f"[{_key(service['use'])}]", f"# {service['target']}"]
        out += _assignments({k: v for k, v in _as_table(service).items() if k != USE})
    return redact("\n".join(out)) + "\n"


# -- the data ------------------------------------------------------------------


class _Component(dict):  # type: ignore[type-arg]
    """A component's description (JSON: an object; TOML: written as a component table)."""


def _component(spec: ComponentSpec) -> dict[str, Any]:
    described = _Component(place=spec.place)
    if spec.name is not None:
        described["name"] = spec.name
    described["use"] = spec.use
    described["target"] = _import_string(spec.target)
    if spec.profile is not None:
        described["profile"] = spec.profile
        described["from_profile"] = sorted(spec.from_profile)
    if spec.constructed:
        arguments = _with_defaults(spec.target, spec.arguments, refused=("links",) if spec.kind == "planner" else ())
        settings = {key: plain(value) for key, value in spec.settings.items()}
        described["arguments"] = _hide_profile(spec, {k: v for k, v in arguments.items() if k not in settings})
        described["settings"] = _hide_profile(spec, settings)
    return described


def _hide_profile(spec: ComponentSpec, values: dict[str, Any]) -> dict[str, Any]:
    return {key: f"<profile {spec.profile}.{key}>" if key in spec.from_profile else value
            for key, value in values.items()}


def _link(spec: LinkSpec) -> dict[str, Any]:
    from databay.link import Link

    arguments = _with_defaults(Link, spec.arguments, refused=_DEPRECATED_LINK_ARGUMENTS)
    if not isinstance(spec.arguments.get("interval"), datetime.timedelta):
        arguments.pop("interval", None)  # a schedule: its keys are among the settings
    components = {key: arguments.pop(key, None) or [] for key in ("inlets", "outlets")}
    settings = {key: plain(value) for key, value in spec.settings.items()}
    return {"place": spec.place, "label": spec.label, "arguments": {**arguments, **settings}, **components}


def _with_defaults(target: Any, arguments: dict[str, Any], refused: tuple[str, ...] = ()) -> dict[str, Any]:
    """``arguments`` and the defaults of every other parameter of ``target`` (but ``refused``)."""
    params, _ = constructor_parameters(target)
    filled = {p.name: arguments.get(p.name, p.default) for p in params
              if p.name in arguments or not (p.required or p.name in refused)}
    filled.update({key: value for key, value in arguments.items() if key not in filled})  # **kwargs
    return {key: plain(value) for key, value in filled.items()}


def _note_sharing(links: list[dict[str, Any]]) -> None:
    """Mark each use of a named component with the other places that share its instance."""
    uses: dict[str, list[dict[str, Any]]] = {}
    for link in links:
        for key in ("inlets", "outlets"):
            for index, component in enumerate(link[key]):
                if "name" in component:
                    component["used_at"] = f"{link['place']}.{key}[{index}]"
                    uses.setdefault(component["place"], []).append(component)
    for shared in uses.values():
        for component in shared:
            component["shared_with"] = [c["used_at"] for c in shared if c is not component]


def plain(value: Any) -> Any:
    """``value`` as JSON/TOML data, each text and number redacted (see the module's docs)."""
    if isinstance(value, ComponentSpec):
        return _component(value) if value.constructed else value.use
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int | float):
        shown = redact(str(value))
        return value if shown == str(value) else shown
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, datetime.timedelta):
        return format_interval(value.total_seconds())
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, pathlib.PurePath):
        return redact(str(value))
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if inspect.isclass(value) or inspect.isroutine(value):
        return _import_string(value)
    return redact(repr(value))


def _import_string(target: Any) -> str:
    module = getattr(target, "__module__", None)
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(target)
    return name if module in (None, "builtins") else f"{module}:{name}"


# -- TOML ------------------------------------------------------------------------


def _table_lines(component: dict[str, Any]) -> list[str]:
    """A component table: comments saying what it is, then its keys."""
    lines = []
    if "name" in component:
        shared = ", ".join(component.get("shared_with", []))
        lines.append(_comment(f"{component['place']}: the named component '{component['name']}'"
                              + (f", one instance shared with {shared}" if shared else "")))
    lines.append(_comment(f"{component['use']}: {component['target']}"))
    table = _as_table(component)
    # What the profile gives stays a comment: the output remains a pipeline that runs the same.
    hidden = {key: table.pop(key) for key in component.get("from_profile", [])}
    return lines + _assignments(table) + [f"# {line}" for line in _assignments(hidden)]


def _as_table(component: dict[str, Any]) -> dict[str, Any]:
    """A component's description as the table a pipeline writes for it."""
    table = {USE: component["use"]}
    if "profile" in component:
        table["profile"] = component["profile"]
    return {**table, **component.get("arguments", {}), **component.get("settings", {})}


def _assignments(values: dict[str, Any]) -> list[str]:
    return [f"{_key(key)} = {toml_value(value)}" for key, value in values.items() if value is not None]


def toml_value(value: Any) -> str:
    """``value`` (plain data) written inline in TOML; ``None`` inside a list or table as ``"None"``."""
    if value is None:
        return '"None"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return string_literal(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, _Component):
        value = _as_table(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ", ".join(f"{_key(key)} = {toml_value(item)}" for key, item in value.items() if item is not None)
        return f"{{ {items} }}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return string_literal(str(value))


def _key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key)
    return key if bare else string_literal(key)


def _comment(text: str) -> str:
    """``# text``, ``text`` escaped onto the comment's line."""
    return f"# {printable_line(text)}"
