"""Reading a pipeline: a file or TOML text, parsed with :mod:`tomllib`."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from databay.pipeline.problems import PipelineError, Problem

_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_END_OF_DOCUMENT = re.compile(r"\s*\(at end of document\)$")


@dataclass(frozen=True)
class Source:
    """A pipeline's text and where it came from.

    :param name: the path as given, or ``<text>``.
    :param text: the TOML text.
    :param folder: the folder of the file (``None`` for text).
    """

    name: str
    text: str
    folder: Path | None


def read_source(source: str | os.PathLike[str]) -> Source:
    """The pipeline named by ``source``.

    A path object is a file. A ``str`` is TOML text when it contains a line break or an
    ``=`` sign, and a file path otherwise.

    :raises PipelineError: the file cannot be read.
    """
    if isinstance(source, str) and ("\n" in source or "=" in source):
        return Source("<text>", source, None)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError(str(source), [Problem("pipeline", f"no such file: {source}")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PipelineError(str(source), [Problem("pipeline", f"cannot read {source}: {reason}")]) from None
    return Source(str(source), text, path.resolve().parent)


def parse(source: Source) -> dict[str, Any]:
    """The TOML document of ``source``.

    :raises PipelineError: a syntax error, placed at its line and column.
    """
    try:
        return tomllib.loads(source.text)
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
