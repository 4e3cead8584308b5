"""Reading a pipeline: a TOML or YAML file (or text), parsed into a :class:`Document`.

Both formats give the same document: tables of strings, numbers, booleans, dates and
lists, and the line each key is written on (:mod:`~databay.pipeline.toml_lines`,
:mod:`~databay.pipeline.yaml_document`), so that problems name their line too.

Bounds, so that a hostile file is a clear problem and never exhausts the process: a file
is at most :data:`MAX_BYTES`, values are nested at most
:data:`~databay.pipeline.document.MAX_DEPTH` deep.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from databay.pipeline.document import MAX_DEPTH, TOO_DEEP, Document, Format, Source
from databay.pipeline.problems import PipelineError, Problem
from databay.pipeline.toml_lines import TomlLines
from databay.pipeline.yaml_document import parse_yaml

MAX_BYTES = 16 * 1024 * 1024
"""The largest pipeline file read."""
YAML_SUFFIXES = (".yaml", ".yml")

_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_END_OF_DOCUMENT = re.compile(r"\s*\(at end of document\)$")


def read_source(source: str | os.PathLike[str], format: Format | None = None) -> Source:
    """The pipeline named by ``source``.

    A path object is a file. A ``str`` is text when it contains a line break or an ``=``
    sign, and a file path otherwise.

    :param format: ``"toml"`` or ``"yaml"``; by default a file ending in ``.yaml`` or
        ``.yml`` is YAML, anything else (and text) TOML.
    :raises PipelineError: the file cannot be read, or is larger than :data:`MAX_BYTES`.
    """
    if isinstance(source, str) and ("\n" in source or "=" in source):
        return Source("<text>", source, None, format or "toml")
    path = Path(source)
    format = format or ("yaml" if path.suffix.lower() in YAML_SUFFIXES else "toml")
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise _unreadable(source, f"{source} is larger than {MAX_BYTES // 2 ** 20} MiB: "
                                      f"a pipeline file holds configuration, not data")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise _unreadable(source, f"no such file: {source}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise _unreadable(source, f"cannot read {source}: {reason}") from None
    return Source(str(source), text, path.resolve().parent, format)


def _unreadable(source: str | os.PathLike[str], message: str) -> PipelineError:
    return PipelineError(str(source), [Problem("pipeline", message)])


def parse(source: Source) -> Document:
    """The document of ``source``, checked to be nested at most ``MAX_DEPTH`` deep.

    :raises PipelineError: a syntax error (at its line and column), a YAML file without
        the ``yaml`` extra installed, a document nested too deeply.
    """
    if source.format == "yaml":
        document = parse_yaml(source)
    else:
        document = Document(_parse_toml(source), TomlLines(source.text))
    too_deep = deepest_key(document.data, MAX_DEPTH)
    if too_deep is not None:
        raise PipelineError(source.name, [Problem(too_deep, TOO_DEEP, document.lines.get(too_deep))])
    return document


def _parse_toml(source: Source) -> dict[str, Any]:
    try:
        return tomllib.loads(source.text)
    except RecursionError:
        raise PipelineError(source.name, [Problem("pipeline", TOO_DEEP)]) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _POSITION.search(message)
        if position:
            place = f"line {position[1]}, column {position[2]}"
            message = message[: position.start()]
        elif _END_OF_DOCUMENT.search(message):
            lines = source.text.split("\n")
            place = f"line {len(lines)}, column {len(lines[-1]) + 1} (end of file)"
            message = _END_OF_DOCUMENT.sub("", message)
        else:
            place = "pipeline"
        raise PipelineError(source.name, [Problem(place, f"invalid TOML: {message}")]) from None


def deepest_key(data: Any, limit: int) -> str | None:
    """The path of the key under which ``data`` nests deeper than ``limit``, or ``None``.

    The path stops at the last table key above the too-deep value (``links[0].tags``),
    which is where a person finds it.
    """
    stack: list[tuple[Any, int, str, str]] = [(data, 0, "", "pipeline")]
    while stack:
        value, depth, path, key_path = stack.pop()
        if isinstance(value, dict | list) and depth >= limit:
            return key_path
        if isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                stack.append((item, depth + 1, child, child))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                stack.append((item, depth + 1, f"{path}[{index}]", key_path))
    return None
