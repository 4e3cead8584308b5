"""The live view of ``databay run``: a summary of all links and a table of the notable ones.

Its cost does not grow with the pipeline: each refresh (twice a second) reads the tracker's
running totals and at most a screenful of links (all of them when they fit; otherwise those
whose last transfer failed, then those that transferred last), never every link. The rows
are laid out here, one ``Text`` line each: a Rich ``Table`` costs ten times as much to draw.

A planner that transfers its links in other processes says so with ``transfers_here =
False`` (databay-celery's scheduler: its workers transfer): the view then says the
transfers run elsewhere instead of counting none here.

Everything shown that comes from the pipeline or from an error (tags, messages) is
redacted and escaped (:mod:`databay.printable`), and added as plain text, never as markup.
"""

from __future__ import annotations

import datetime
import time

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.text import Text

from databay.cli.pipeline_text import duration_text
from databay.pipeline.model import Pipeline
from databay.pipeline.progress import LinkProgress, ProgressTracker
from databay.printable import printable_line

REFRESH_PER_SECOND = 2
"""How often the view is redrawn, whatever the number of links or transfers."""

COLUMNS = ("Link", "Tags", "Schedule", "Transfers", "Records", "Last", "Next", "Last error")
_RIGHT_ALIGNED = frozenset({"Schedule", "Transfers", "Records", "Last", "Next"})
_SOON = 100.0  # seconds: a due time sooner than this shows as "in 12.3 s", a later one as a time
_ERROR_WIDTH = 60
_MAX_ROWS = 25
_LINES_AROUND_ROWS = 6  # title, summary, header, caption, and room for the shell's prompt

Cell = tuple[tuple[str, str], ...]
"""A table cell: its pieces of text, each with its Rich style (``""``: none)."""


def _cell(text: str, style: str = "") -> Cell:
    return ((text, style),)


class LiveView:
    """A Rich renderable of the pipeline's progress, re-read at each refresh.

    :param pipeline: what runs.
    :param tracker: where the progress comes from.
    :param max_rows: links shown at most; ``None``: as many as the terminal's height allows,
        at most 25.
    """

    def __init__(self, pipeline: Pipeline, tracker: ProgressTracker, max_rows: int | None = None):
        self.pipeline = pipeline
        self.tracker = tracker
        self.max_rows = max_rows
        self.stopped = False
        self._started = time.monotonic()
        links = len(pipeline.links)
        self._title = printable_line(
            f"databay run {pipeline.source}: {links:,} link{'s' if links != 1 else ''}, "
            f"planner {pipeline.spec.planner.use} (Ctrl-C to stop)")
        self._places = {id(progress): spec.place for progress, spec in zip(tracker.links, pipeline.spec.links)}
        self._elsewhere = not getattr(pipeline.planner, "transfers_here", True)
        """The planner transfers the links in other processes: nothing to count here."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows = self.max_rows
        if rows is None:
            rows = max(3, min(_MAX_ROWS, console.size.height - _LINES_AROUND_ROWS))
        yield Group(Text(self._title, style="italic"), self._summary(), *self._table(rows))

    def _summary(self) -> Text:
        if self._elsewhere:
            return Text(f"transfers run elsewhere (the planner's workers), not counted here; "
                        f"{'stopped' if self.stopped else 'scheduling'}; "
                        f"up {_uptime(time.monotonic() - self._started)}")
        totals = self.tracker.totals
        summary = Text(f"{totals.transfers:,} transfers")
        if totals.failures:
            summary.append(f" ({totals.failures:,} failed)", "red")
        summary.append(f", {totals.records_pulled:,} records pulled, {totals.records_pushed:,} pushed; ")
        if self.stopped:
            summary.append("stopped")
        else:
            summary.append(f"{totals.running:,} running")
            if totals.failing:
                summary.append(f", {totals.failing:,} link{'s' if totals.failing != 1 else ''} failing", "red")
        summary.append(f"; up {_uptime(time.monotonic() - self._started)}")
        return summary

    def _table(self, rows: int) -> list[Text]:
        """The header, a line per link shown, and when not all fit, a caption saying which."""
        links = self.tracker.links
        shown = links if len(links) <= rows else self.tracker.notable(rows)
        now = time.time()
        body = [self._row(progress, now) for progress in shown]
        header = tuple(_cell(name, "bold") for name in COLUMNS)
        widths = [max(_width(row[column]) for row in (header, *body)) for column in range(len(COLUMNS))]
        lines = [_line(row, widths) for row in (header, *body)]
        if len(shown) < len(links):
            lines.append(Text(f"{len(shown)} of {len(links):,} links: those failing first, then the latest to transfer"
                              if shown else f"no transfer yet ({len(links):,} links)", style="dim"))
        return lines

    def _row(self, progress: LinkProgress, now: float) -> tuple[Cell, ...]:
        place = _cell(self._places[id(progress)])
        tags = _cell(printable_line(".".join(progress.tags)))
        if self._elsewhere:
            elsewhere = _cell("elsewhere", "dim")
            return (place, tags, _cell(progress.schedule_text), elsewhere, elsewhere, _cell("-", "dim"),
                    self._next(progress, now), _cell(""))
        transfers = _cell(f"{progress.transfers:,}")
        if progress.failures:
            transfers += ((f" ({progress.failures:,} failed)", "red"),)
        return (place, tags, _cell(progress.schedule_text), transfers, _cell(f"{progress.records_pushed:,}"),
                _cell(duration_text(progress.last_duration)), self._next(progress, now), _error(progress))

    def _next(self, progress: LinkProgress, now: float) -> Cell:
        if self.stopped:
            return _cell("stopped")
        if progress.running:
            return _cell("running", "cyan")
        due = self.tracker.next_due(progress, now)
        return _cell("-" if due is None else _when(due, now, progress.timezone))

    def live(self, console: Console | None = None) -> Live:
        """A ``rich.live.Live`` showing this view (use it as a context manager)."""
        return Live(self, console=console, refresh_per_second=REFRESH_PER_SECOND, redirect_stdout=True,
                    redirect_stderr=True)


def _when(due: float, now: float, zone: datetime.tzinfo) -> str:
    """``in 4.2 s`` soon; else the time in ``zone``: ``at 14:30:00 CEST``, or with the day
    beyond the next 24 hours (``Mon 03 Jun 00:00 CEST``)."""
    if due - now < _SOON:
        return f"in {max(0.0, due - now):.1f} s"
    moment = datetime.datetime.fromtimestamp(due, zone)
    return moment.strftime("at %H:%M:%S %Z" if due - now < 86400 else "%a %d %b %H:%M %Z")


def _error(progress: LinkProgress) -> Cell:
    if progress.last_error is None:
        return _cell("")
    text = printable_line(progress.last_error)
    if len(text) > _ERROR_WIDTH:
        text = text[: _ERROR_WIDTH - 3] + "..."
    return _cell(text, "red")


def _width(cell: Cell) -> int:
    return sum(cell_len(text) for text, _ in cell)


def _line(row: tuple[Cell, ...], widths: list[int]) -> Text:
    """One row, its columns padded to ``widths``; cut at the terminal's edge."""
    line = Text(no_wrap=True, overflow="ellipsis")
    last = len(row) - 1
    for column, (cell, width) in enumerate(zip(row, widths)):
        padding = " " * (width - _width(cell))
        right = COLUMNS[column] in _RIGHT_ALIGNED
        if right:
            line.append(padding)
        for text, style in cell:
            line.append(text, style)
        if column < last:
            line.append("  " if right else padding + "  ")
    return line


def _uptime(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"
