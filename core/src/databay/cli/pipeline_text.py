"""How the command line describes a pipeline: its links and components, as written."""

from __future__ import annotations

from typing import Any

from databay.pipeline.intervals import schedule_text
from databay.pipeline.keys import USE
from databay.pipeline.specs import ComponentSpec, LinkSpec, PipelineSpec

_VALUE_WIDTH = 40


def _value(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get(USE), str):  # a component table
        return _component(value)
    if isinstance(value, list) and any(isinstance(v, dict) and USE in v for v in value):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    text = repr(value)
    if isinstance(value, str) or len(text) <= _VALUE_WIDTH:  # paths and URLs whole: they say where
        return text
    return text[: _VALUE_WIDTH - 3] + "..."


def _component(table: dict[str, Any]) -> str:
    arguments = ", ".join(f"{k}={_value(v)}" for k, v in table.items() if k != USE)
    return f"{table[USE]}({arguments})" if arguments else str(table[USE])


def duration_text(seconds: float | None) -> str:
    """``4 ms``, ``1.2 s``, ``-`` for nothing yet."""
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def component_text(spec: ComponentSpec) -> str:
    """``csv(default_filepath='out/todos.csv')``: the name and arguments as written in the
    file (``${...}`` unexpanded, so values from the environment are never shown); a named
    component is preceded by its name (``orders=http(...)``)."""
    text = _component({**spec.written, USE: spec.use})
    return f"{spec.name}={text}" if spec.name else text


_STAGES = ("inlets", "processors", "groupers", "outlets")


def _heading(link: LinkSpec) -> str:
    interval = link.arguments.get("interval")
    heading = f"{link.label}: {schedule_text(interval)}" if interval else link.label
    stage = link.written.get("stage")
    if isinstance(stage, dict):
        stage = _component(stage)
    return f"{heading}, staged in {stage}" if stage else heading


def link_line(link: LinkSpec) -> str:
    """A link on one line: ``links[0] todos: every 5s: http(...) -> only_done -> csv(...)``."""
    stages = [", ".join(component_text(s) for s in link.components(key)) for key in _STAGES if link.components(key)]
    return f"{_heading(link)}: {' -> '.join(stages)}"


def link_lines(link: LinkSpec) -> list[str]:
    """A link in a few lines: its label and interval, then its components."""
    lines = [_heading(link)]
    for key in _STAGES:
        specs = link.components(key)
        if specs:
            lines.append(f"  {key + ':':<11} {', '.join(component_text(s) for s in specs)}")
    return lines


def _schedule_json(link: LinkSpec) -> dict[str, Any]:
    """``interval`` (seconds) of a link on an interval; else ``schedule`` or ``cron``, and ``timezone``."""
    interval = link.arguments.get("interval")
    if interval is None or hasattr(interval, "total_seconds"):
        return {"interval": interval.total_seconds() if interval is not None else None}
    written: dict[str, Any] = {key: link.settings[key] for key in ("schedule", "cron", "timezone")
                               if key in link.settings}
    return {"interval": None, **written}


def pipeline_json(spec: PipelineSpec) -> dict[str, Any]:
    """A JSON-ready description of a checked pipeline (values as written)."""

    def component(c: ComponentSpec) -> dict[str, Any]:
        return {"place": c.place, "use": c.use, "arguments": {k: v for k, v in c.written.items() if k != USE}}

    return {
        "source": spec.source,
        "valid": True,
        "planner": component(spec.planner),
        "links": [
            {
                "place": link.place,
                "tags": link.tags,
                **_schedule_json(link),
                "stage": link.written.get("stage"),
                **{key: [component(c) for c in link.components(key)]
                   for key in ("inlets", "outlets", "processors", "groupers")},
            }
            for link in spec.links
        ],
        "notifiers": [component(c) for c in spec.notifiers],
    }
