"""YAML pipelines (the ``yaml`` extra): the same document as TOML, with the line of every key.

PyYAML reads the text and composes its nodes (anchors and aliases resolved); this module
turns the nodes into the values a TOML document holds, so that both formats are one
schema and go through one validation:

- scalars follow YAML 1.2's core schema: ``true``/``false`` are booleans, ``yes``, ``no``,
  ``on``, ``off`` and ``1:30`` are text (as in TOML), numbers are decimal, ``0o`` octal or
  ``0x`` hexadecimal integers and floats (``1e3``, ``.inf``), ``null``/``~``/nothing is
  ``None``; dates and timestamps (``2024-05-01``, ``2024-05-01T10:00:00Z``) become dates
  and datetimes, as TOML's do. Other tags (``!!binary``, ``!!python/...``, ``!custom``)
  are refused;
- keys are text (a scalar key is taken as written), each at most once per mapping;
- merge keys (``<<: *defaults``) work, the mapping's own keys winning;
- the text is at most one document; anchors and aliases may not expand past
  :data:`MAX_VALUES` values, nor nest (or refer to themselves) past
  :data:`~databay.pipeline.document.MAX_DEPTH` levels.

Every such mistake is a :class:`~databay.pipeline.problems.Problem` with its key path and
line; a syntax error has its line and column.
"""

from __future__ import annotations

import re
from typing import Any

from databay.pipeline.document import MAX_DEPTH, TOO_DEEP, Document, Source
from databay.pipeline.problems import PipelineError, Problem

# PyYAML is optional and untyped: its module and nodes are passed around as ``Any``.
Node = Any

MAX_VALUES = 200_000
"""The most values a YAML document may hold once its aliases are expanded."""

MISSING_EXTRA = "YAML pipelines need the yaml extra: pip install 'databay[yaml]'"

_TAG = "tag:yaml.org,2002:"
_CORE_SCHEMA = [  # (tag, pattern, first characters), tried in this order
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    ("float", r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
              r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)", "-+0123456789."),
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
]


def parse_yaml(source: Source) -> Document:
    """The document of the YAML ``source``, with the line of every key path.

    :raises PipelineError: PyYAML is not installed (the ``yaml`` extra), a syntax error,
        or a document that is not a pipeline's (see the module's docs), each at its place.
    """
    try:
        import yaml  # type: ignore[import-untyped,import-not-found,unused-ignore]  # optional, untyped
    except ImportError:
        raise PipelineError(source.name, [Problem("pipeline", MISSING_EXTRA)]) from None
    loader = _loader_class(yaml)
    try:
        too_deep = _too_deep_line(yaml, loader, source.text)
        if too_deep is not None:
            raise PipelineError(source.name, [Problem(f"line {too_deep}", TOO_DEEP)])
        root = yaml.compose(source.text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        raise PipelineError(source.name, [_syntax_problem(exc)]) from None
    except yaml.reader.ReaderError as exc:
        line = source.text.count("\n", 0, exc.position) + 1
        character = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        raise PipelineError(source.name, [Problem(f"line {line}", f"invalid YAML: character {character} "
                                                                  f"is not allowed")]) from None
    except yaml.YAMLError as exc:
        raise PipelineError(source.name, [Problem("pipeline", f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise PipelineError(source.name, [Problem("pipeline", TOO_DEEP)]) from None
    return _Converter(yaml, source).document(root)


def _loader_class(yaml: Any) -> type:
    """A safe loader resolving plain scalars by YAML 1.2's core schema (and timestamps, merges)."""

    class CoreSchemaLoader(yaml.SafeLoader):
        yaml_implicit_resolvers: dict[str, list] = {}

    for name, pattern, first in _CORE_SCHEMA:
        CoreSchemaLoader.add_implicit_resolver(_TAG + name, re.compile(f"^(?:{pattern})$"), list(first))
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items():
        for tag, regexp in resolvers:
            if tag in (_TAG + "timestamp", _TAG + "merge"):
                CoreSchemaLoader.add_implicit_resolver(tag, regexp, [first])
    return CoreSchemaLoader


def _too_deep_line(yaml: Any, loader: type, text: str) -> int | None:
    """The line where collections nest deeper than allowed, read from the event stream (which,
    unlike composing, needs no recursion), or ``None``."""
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return int(event.start_mark.line) + 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def _syntax_problem(exc: Any) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    place = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "pipeline"
    what = ", ".join(part for part in (exc.context, exc.problem) if part)
    return Problem(place, f"invalid YAML: {what}")


class _Converter:
    """Turns composed nodes into plain values, noting lines and collecting problems."""

    def __init__(self, yaml: Any, source: Source):
        self.yaml = yaml
        self.source = source
        self.lines: dict[str, int] = {}
        self.problems: list[Problem] = []
        self.count = 0
        self.timestamps = yaml.SafeLoader("")  # constructs timestamps the way PyYAML does

    def document(self, root: Node | None) -> Document:
        if root is None:
            data: Any = {}
        elif not isinstance(root, self.yaml.MappingNode):
            kind = "a list" if isinstance(root, self.yaml.SequenceNode) else "a single value"
            self.problem("pipeline", root, f"a pipeline is a mapping of keys (planner, links, ...), not {kind}")
            data = {}
        else:
            data = self.value(root, "", 0)
        if self.problems:
            raise PipelineError(self.source.name, self.problems)
        return Document(data, self.lines)

    def problem(self, place: str, node: Node, message: str) -> None:
        self.problems.append(Problem(place or "pipeline", message, int(node.start_mark.line) + 1))

    def value(self, node: Node, path: str, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            if self.count == MAX_VALUES + 1:
                self.problem(path, node, f"more than {MAX_VALUES} values (aliases expand to too many)")
            return None
        if isinstance(node, self.yaml.ScalarNode):
            return self.scalar(node, path)
        if node.tag not in (_TAG + "seq", _TAG + "map"):
            self.problem(path, node, _unsupported(node.tag))
            return None
        if depth >= MAX_DEPTH:  # an alias may refer to its own mapping
            self.problem(path, node, TOO_DEEP)
            return None
        if isinstance(node, self.yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                where = f"{path}[{index}]"
                self.lines.setdefault(where, int(item.start_mark.line) + 1)
                items.append(self.value(item, where, depth + 1))
            return items
        table = {}
        for key, item in self.pairs(node, path, ()):
            where = f"{path}.{key}" if path else key
            table[key] = self.value(item, where, depth + 1)
        return table

    def pairs(self, node: Node, path: str, merging: tuple[int, ...]) -> list[tuple[str, Node]]:
        """``(key, value node)`` of a mapping, merges applied; notes the line of each key."""
        own: dict[str, Node] = {}
        merged: dict[str, Node] = {}
        for key_node, item in node.value:
            if key_node.tag == _TAG + "merge":
                for source in self.merge_sources(item, path, merging + (id(node),)):
                    for key, value in self.pairs(source, path, merging + (id(node),)):
                        merged.setdefault(key, value)
                continue
            if not isinstance(key_node, self.yaml.ScalarNode):
                self.problem(path, key_node, "a key must be text, not a list or a mapping")
                continue
            key = str(key_node.value)
            if key in own:
                self.problem(f"{path}.{key}" if path else key, key_node, f"duplicate key '{key}'")
                continue
            own[key] = item
            if not merging:
                self.lines[f"{path}.{key}" if path else key] = int(key_node.start_mark.line) + 1
        return [*((k, v) for k, v in merged.items() if k not in own), *own.items()]

    def merge_sources(self, item: Node, path: str, merging: tuple[int, ...]) -> list[Node]:
        sources = item.value if isinstance(item, self.yaml.SequenceNode) else [item]
        if not all(isinstance(s, self.yaml.MappingNode) for s in sources):
            self.problem(path, item, "'<<' merges a mapping or a list of mappings")
            return []
        if any(id(s) in merging for s in sources):
            self.problem(path, item, "'<<' merges a mapping into itself")
            return []
        return list(sources)

    def scalar(self, node: Node, path: str) -> Any:
        tag, text = node.tag, node.value
        try:
            if tag in ("!", _TAG + "str"):
                return text
            if tag == _TAG + "bool" and text.lower() in ("true", "false"):
                return text.lower() == "true"
            if tag == _TAG + "int":
                return int(text, 0) if text[:2] in ("0o", "0x") else int(text, 10)
            if tag == _TAG + "float":
                return float(text.lower().replace(".inf", "inf").replace(".nan", "nan"))
            if tag == _TAG + "null" and text in ("~", "null", "Null", "NULL", ""):
                return None
            if tag == _TAG + "timestamp":
                return self.timestamps.construct_yaml_timestamp(node)
        except (ValueError, TypeError, self.yaml.YAMLError):
            self.problem(path, node, f"{text[:40]!r} is not a valid {tag.removeprefix(_TAG)}")
            return None
        self.problem(path, node, _unsupported(tag))
        return None


def _unsupported(tag: str) -> str:
    return f"the tag '{tag}' is not supported: a pipeline holds text, numbers, booleans, dates, lists and mappings"
