"""The live view of ``databay run``: one row per link, refreshed while the pipeline runs."""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from databay.cli.pipeline_text import duration_text
from databay.pipeline.intervals import format_interval
from databay.pipeline.model import Pipeline
from databay.pipeline.progress import LinkProgress, ProgressTracker

_ERROR_WIDTH = 60


class LiveView:
    """A Rich table of every link's progress (a renderable, re-read at each refresh).

    :param pipeline: what runs.
    :param tracker: where the progress comes from.
    """

    def __init__(self, pipeline: Pipeline, tracker: ProgressTracker):
        self.pipeline = pipeline
        self.tracker = tracker
        self.stopped = False

    def __rich__(self) -> Table:
        links = len(self.pipeline.links)
        table = Table(
            title=f"databay run {escape(self.pipeline.source)}: {links} link{'s' if links != 1 else ''}, "
                  f"planner {escape(self.pipeline.spec.planner.use)} (Ctrl-C to stop)",
            title_justify="left",
        )
        table.add_column("Link", no_wrap=True)
        table.add_column("Tags")
        table.add_column("Interval", justify="right")
        table.add_column("Transfers", justify="right")
        table.add_column("Records", justify="right")
        table.add_column("Last", justify="right")
        table.add_column("Next", justify="right")
        table.add_column("Last error", overflow="fold")
        now = time.time()
        for progress, spec in zip(self.tracker.links, self.pipeline.spec.links):
            table.add_row(spec.place, escape(".".join(progress.tags)), format_interval(progress.interval),
                          self._transfers(progress), str(progress.records_pushed),
                          duration_text(progress.last_duration), self._next(progress, now),
                          self._error(progress))
        return table

    @staticmethod
    def _transfers(progress: LinkProgress) -> str:
        if progress.failures:
            return f"{progress.transfers} [red]({progress.failures} failed)[/red]"
        return str(progress.transfers)

    def _next(self, progress: LinkProgress, now: float) -> str:
        if self.stopped:
            return "stopped"
        if progress.running:
            return "[cyan]running[/cyan]"
        due = progress.next_transfer(now)
        return "-" if due is None else f"in {max(0.0, due - now):.1f} s"

    @staticmethod
    def _error(progress: LinkProgress) -> str:
        if progress.last_error is None:
            return ""
        text = progress.last_error
        if len(text) > _ERROR_WIDTH:
            text = text[: _ERROR_WIDTH - 3] + "..."
        return f"[red]{escape(text)}[/red]"

    def live(self, console: Console | None = None) -> Live:
        """A ``rich.live.Live`` showing this view (use it as a context manager)."""
        return Live(self, console=console, refresh_per_second=4, redirect_stdout=True, redirect_stderr=True)
