"""A pipeline's text (:class:`Source`) and what parsing it gives (:class:`Document`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Format = Literal["toml", "yaml"]

MAX_DEPTH = 32
"""How deep tables and lists may be nested in a pipeline (the top-level table is depth 0)."""
TOO_DEEP = f"nested too deeply: tables and lists go at most {MAX_DEPTH} levels deep"


@dataclass(frozen=True)
class Source:
    """A pipeline's text and where it came from.

    :param name: the path as given, or ``<text>``.
    :param text: the TOML or YAML text.
    :param folder: the folder of the file (``None`` for text).
    :param format: ``"toml"`` or ``"yaml"``.
    """

    name: str
    text: str
    folder: Path | None
    format: Format = "toml"


@dataclass(frozen=True)
class Document:
    """A parsed pipeline.

    :param data: the top-level table.
    :param lines: the line (from 1) of each key path (``links[0].outlets[1].host``), as far
        as it is known.
    """

    data: dict[str, Any]
    lines: Mapping[str, int] = field(default_factory=dict)
