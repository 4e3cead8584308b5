"""The stages of a pipeline's links, read for the dashboard: backlog, batches, records,
exports, replays and purges.

Each operation opens a new stage object over the link's storage (as ``databay stage``
does), never the one the running link holds, and runs in a small thread pool of its own:
the planner's loop and its pool never wait for a stage read. Backlogs (what the overview
and ``/metrics`` show) are read for all links together and kept for
:data:`BACKLOG_SECONDS`, so that any number of viewers costs one read every so often.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from databay.pipeline import ComponentSpec, PipelineSpec
from databay.printable import printable_line
from databay.stage import SqliteStage, Stage, StageError, outlet_keys
from databay.stage.export import COLUMNS, batches_once, csv_cells, jsonl_line, record_rows

T = TypeVar("T")

BACKLOG_SECONDS = 2.0
STATES = ("pending", "dead", "delivered")
MAX_RECORDS_SHOWN = 500
"""Records of one batch a page shows (the export has them all)."""


@dataclass(frozen=True)
class StagedLink:
    """A link that has a stage: its number in the pipeline, its names and how to make its stage."""

    index: int
    name: str
    label: str
    location: str
    make: Callable[[], Stage]


def staged_links(spec: PipelineSpec) -> list[StagedLink]:
    """The links of ``spec`` that have a stage."""
    from databay_web.monitor import link_name

    found = []
    for index, link in enumerate(spec.links):
        value = link.arguments.get("stage")
        if value is None:
            continue
        make = _maker(value)
        try:
            location = printable_line(make().location)
        except Exception as exc:  # noqa: BLE001 - a backend's constructor may raise anything
            location = printable_line(f"(cannot be made: {type(exc).__name__}: {exc})")
        found.append(StagedLink(index, link_name(link.tags, link.place), printable_line(link.label), location, make))
    return found


def stage_outlet_keys(link: Any) -> list[str]:
    """The names a running link's stage gives the outlets it holds batches for
    (:func:`databay.stage.outlet_keys`), escaped for showing."""
    return [printable_line(key) for key in outlet_keys(link)]


def _maker(value: Any) -> Callable[[], Stage]:
    if isinstance(value, ComponentSpec):
        return lambda: value.target(**value.arguments)
    return lambda: SqliteStage(value)


class StageReader:
    """Reads and changes the stages of a pipeline's links (see the module's docs).

    :param spec: the checked pipeline.
    :param read_only: refuse :meth:`replay` and :meth:`purge`.
    """

    def __init__(self, spec: PipelineSpec, read_only: bool = False):
        self.links = {link.index: link for link in staged_links(spec)}
        self.read_only = read_only
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="databay-web-stage")
        self._backlogs: dict[int, dict[str, Any]] = {}
        self._read_at = -BACKLOG_SECONDS
        self._reading: asyncio.Future | None = None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _in_pool(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    def link(self, index: int) -> StagedLink:
        """:raises KeyError: link ``index`` has no stage."""
        return self.links[index]

    # -- backlogs --------------------------------------------------------------------

    async def backlogs(self) -> dict[int, dict[str, Any]]:
        """Each staged link's backlog (:func:`backlog`), at most :data:`BACKLOG_SECONDS` old."""
        if time.monotonic() - self._read_at < BACKLOG_SECONDS:
            return self._backlogs
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._in_pool(self._read_backlogs))
        reading = self._reading
        try:
            self._backlogs = await asyncio.shield(reading)
        finally:
            if self._reading is reading and reading.done():
                self._reading = None
                self._read_at = time.monotonic()
        return self._backlogs

    def _read_backlogs(self) -> dict[int, dict[str, Any]]:
        return {index: backlog(link) for index, link in self.links.items()}

    # -- batches and records ---------------------------------------------------------------

    async def batches(self, index: int, states: list[str], offset: int, limit: int) -> tuple[list[dict], int]:
        """``(rows, total)``: the batches of link ``index`` in ``states``, ``limit`` from
        ``offset`` on (one row per batch and outlet, as ``databay stage --list``)."""
        link = self.link(index)

        def read() -> tuple[list[dict], int]:
            stage = link.make()
            if not stage.exists():
                return [], 0
            with stage:
                entries = stage.batches(states)
            return [_batch_row(entry) for entry in entries[offset:offset + limit]], len(entries)

        return await self._in_pool(read)

    async def records(self, index: int, batch: int) -> tuple[dict[str, Any] | None, list[dict], int]:
        """``(batch, records, total)`` of batch number ``batch`` of link ``index``: the
        first :data:`MAX_RECORDS_SHOWN` records as export rows (``databay stage --export``)."""
        link = self.link(index)

        def read() -> tuple[dict[str, Any] | None, list[dict], int]:
            stage = link.make()
            if not stage.exists():
                return None, [], 0
            with stage:
                entries = [entry for entry in stage.batches(STATES) if entry.batch == batch]
                if not entries:
                    return None, [], 0
                grouped = batches_once(entries)
                entry, outlets = grouped[0]
                rows = list(record_rows(stage, link.label, entry, outlets))
            described = _batch_row(entry)
            described["states"] = {e.state: o for e, o in grouped}
            return described, rows[:MAX_RECORDS_SHOWN], len(rows)

        return await self._in_pool(read)

    async def export(self, index: int | None, states: list[str], file_format: str) -> Any:
        """The records of the batches in ``states`` of link ``index`` (every staged link
        when ``None``), as a JSON Lines or CSV file (a temporary file, spooled to disk
        when large, read from the start)."""
        links = list(self.links.values()) if index is None else [self.link(index)]

        def write() -> Any:
            out = tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+b")
            text = io.TextIOWrapper(out, encoding="utf-8", newline="" if file_format == "csv" else None,
                                    write_through=True)
            writer = csv.writer(text) if file_format == "csv" else None
            if writer is not None:
                writer.writerow(COLUMNS)
            for link in links:
                stage = link.make()
                if not stage.exists():
                    continue
                with stage:
                    for entry, outlets in batches_once(stage.batches(states)):
                        for row in record_rows(stage, link.label, entry, outlets):
                            if writer is not None:
                                writer.writerow(csv_cells(row))
                            else:
                                text.write(jsonl_line(row))
            text.detach()
            out.seek(0)
            return out

        return await self._in_pool(write)

    # -- actions ---------------------------------------------------------------------------

    async def replay(self, index: int, outlet: str | None = None) -> int:
        """Make the dead letters of link ``index`` (for ``outlet``, or all) pending again."""
        return await self._change(index, lambda stage: stage.replay(outlet))

    async def purge(self, index: int, outlet: str | None = None) -> int:
        """Delete the dead letters of link ``index`` (for ``outlet``, or all)."""
        return await self._change(index, lambda stage: stage.purge(outlet))

    async def _change(self, index: int, change: Callable[[Stage], int]) -> int:
        if self.read_only:
            raise PermissionError("read-only: the pipeline is not running here")
        link = self.link(index)

        def run() -> int:
            stage = link.make()
            if not stage.exists():
                return 0
            with stage:
                return change(stage)

        count = await self._in_pool(run)
        self._read_at = -BACKLOG_SECONDS  # the next backlog is read again
        return count


def backlog(link: StagedLink) -> dict[str, Any]:
    """What the stage of ``link`` holds per outlet (pending and dead), with totals, or its error."""
    result: dict[str, Any] = {"stage": link.location, "exists": True, "error": None, "outlets": [],
                              "pending_batches": 0, "pending_records": 0, "dead_batches": 0, "dead_records": 0}
    try:
        stage = link.make()
        if not stage.exists():
            result["exists"] = False
            return result
        with stage:
            entries = stage.backlog()
    except (StageError, OSError) as exc:
        result["error"] = printable_line(str(exc))
        return result
    by_outlet: dict[str, dict[str, Any]] = {}
    for entry in entries:
        row = by_outlet.setdefault(entry.outlet, {"outlet": printable_line(entry.outlet), "pending": None,
                                                  "dead": None})
        row[entry.state] = {"batches": entry.batches, "records": entry.records, "oldest": entry.oldest,
                            "last_failed_at": entry.last_failed_at,
                            "last_error": printable_line(entry.last_error) if entry.last_error else None}
        result[f"{entry.state}_batches"] += entry.batches
        result[f"{entry.state}_records"] += entry.records
    result["outlets"] = list(by_outlet.values())
    return result


def _batch_row(entry: Any) -> dict[str, Any]:
    return {"batch": entry.batch, "batch_id": printable_line(entry.batch_id),
            "outlet": printable_line(entry.outlet) if entry.outlet else None, "state": entry.state,
            "created": entry.created, "transfer": printable_line(entry.transfer), "records": entry.size,
            "attempts": entry.attempts, "at": entry.at,
            "error": printable_line(entry.error) if entry.error else None}
