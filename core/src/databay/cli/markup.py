"""Untrusted text for Rich's ``console.print``: printable (:mod:`databay.printable`) and
free of markup.

Rich interprets ``[red]`` and friends in what it prints, and passes escape sequences
through as they are: plugin names and versions, docstrings, stage labels and error messages
go through :func:`line` (or :func:`lines` for text whose line breaks belong to it, a
docstring) before they reach a table or a ``print``.
"""

from __future__ import annotations

from rich.markup import escape

from databay.printable import printable_line, printable_lines


def line(text: object) -> str:
    """``text`` redacted, escaped onto one line and markup-escaped."""
    return escape(printable_line(str(text)))


def lines(text: object) -> str:
    """``text`` redacted, escaped (its line breaks kept) and markup-escaped."""
    return escape(printable_lines(str(text)))
