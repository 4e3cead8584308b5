"""A loaded pipeline: the planner and links built from a pipeline file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from databay.base_planner import BasePlanner
    from databay.link import Link
    from databay.pipeline.running import OnceResult, RunResult
    from databay.pipeline.specs import PipelineSpec


class Pipeline:
    """A pipeline's planner and links, built and ready to run in this process.

    Use :attr:`planner` and :attr:`links` as you would ones built in Python (add links,
    start the planner yourself), or :meth:`run` / :meth:`run_once` as ``databay run``
    does.

    :param spec: the checked description it was built from.
    :param planner: the planner, with every link added.
    :param links: the links, in the order of the file.
    :param notifiers: the ``[[notifiers]]``: :meth:`run` and :meth:`run_once` let them
        observe the run and close them at its end.
    :param services: the services its top-level tables turn on (``[web]``): :meth:`run`
        runs them beside the planner (see :mod:`databay.service`).
    """

    def __init__(self, spec: PipelineSpec, planner: BasePlanner, links: list[Link],
                 notifiers: list[Any] | None = None, services: list[Any] | None = None):
        self.spec = spec
        self.planner = planner
        self.links = links
        self.notifiers = list(notifiers or [])
        self.services = list(services or [])
        self._labels = {id(link): link_spec.label for link, link_spec in zip(links, spec.links)}

    @property
    def source(self) -> str:
        """The pipeline file's path, or ``<text>``."""
        return self.spec.source

    def label(self, link: Link) -> str:
        """How to name ``link`` for people: ``links[0] todos`` (its place and tags)."""
        return self._labels.get(id(link), repr(link))

    def run(self, handle_signals: bool = True, shutdown_timeout: float | None = 30.0) -> RunResult:
        """Start the planner and block until it stops. See :func:`databay.pipeline.running.run`."""
        from databay.pipeline.running import run

        return run(self, handle_signals=handle_signals, shutdown_timeout=shutdown_timeout)

    def run_once(self, handle_signals: bool = True, shutdown_timeout: float | None = 30.0) -> OnceResult:
        """Transfer every link once, then stop. See :func:`databay.pipeline.running.run_once`."""
        from databay.pipeline.running import run_once

        return run_once(self, handle_signals=handle_signals, shutdown_timeout=shutdown_timeout)

    def __repr__(self) -> str:
        return f"Pipeline({self.source!r}, planner={type(self.planner).__name__}, links={len(self.links)})"
