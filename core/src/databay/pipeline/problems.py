"""What is wrong with a pipeline: :class:`Problem` and :class:`PipelineError`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One mistake in a pipeline and where it is.

    :param place: where, e.g. ``links[1].outlets[0] (csv)``, ``planner (schedule)``,
        ``pipeline`` (the file as a whole) or ``line 3, column 7``.
    :param message: what, e.g. ``unknown argument 'colection' (did you mean 'collection'?)``.
    """

    place: str
    message: str

    def __str__(self) -> str:
        return f"{self.place}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"place": self.place, "message": self.message}


class PipelineError(ValueError):
    """A pipeline that cannot be built: every problem found, each with its place.

    :param source: the file's path, or ``<text>``.
    :param problems: what is wrong, in the order of the file.
    """

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        lines = [f"{source}: {count} problem{'s' if count != 1 else ''}"]
        lines += [f"  {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))
