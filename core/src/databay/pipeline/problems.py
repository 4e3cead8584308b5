"""What is wrong with a pipeline: :class:`Problem` and :class:`PipelineError`.

Problems are shown to people and to scripts, so they never hold a secret: their text
passes through :func:`databay.redaction.redact` when made and again when shown (a secret
may be registered after a problem that happens to contain it was made). Shown as text, a
problem is one line whatever it quotes (a key, a tag, a file name): its control characters
are escaped (:func:`databay.printable.printable_line`); :meth:`Problem.as_dict` keeps them
for JSON, which escapes them itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from databay.printable import printable_line
from databay.redaction import redact


@dataclass(frozen=True)
class Problem:
    """One mistake in a pipeline and where it is.

    :param place: where, e.g. ``links[1].outlets[0] (csv)``, ``planner (schedule)``,
        ``pipeline`` (the file as a whole) or ``line 3, column 7``.
    :param message: what, e.g. ``unknown argument 'colection' (did you mean 'collection'?)``.
    :param line: the line of the file it is on, when known (shown after the message, so
        that ``place: message`` reads the same in both formats).
    """

    place: str
    message: str
    line: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "place", redact(self.place))
        object.__setattr__(self, "message", redact(self.message))

    def __str__(self) -> str:
        """``place: message``, then `` (line N)`` when the line is known; on one line."""
        line = f" (line {self.line})" if self.line is not None else ""
        return printable_line(f"{self.place}: {self.message}{line}")

    def as_dict(self) -> dict[str, Any]:
        """``{"place", "message"}``, and ``"line"`` when it is known."""
        described: dict[str, Any] = {"place": redact(self.place), "message": redact(self.message)}
        if self.line is not None:
            described["line"] = self.line
        return described


def line_of(lines: Mapping[str, int], place: str) -> int | None:
    """The line of ``place`` (``links[0].outlets[1] (csv)``, ``links[0].interval``): that of
    its key path, else of the nearest enclosing one; ``None`` if no line is known."""
    path = place.split(" (", 1)[0].split(" '", 1)[0]
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


class PipelineError(ValueError):
    """A pipeline that cannot be built: every problem found, each with its place.

    Its message is a heading, then each problem on a line of its own.

    :param source: the file's path, or ``<text>``.
    :param problems: what is wrong, in the order of the file.
    """

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        lines = [printable_line(f"{source}: {count} problem{'s' if count != 1 else ''}")]
        lines += [f"  {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))
