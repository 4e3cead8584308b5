"""What the pages and the JSON API show, as plain data: one function per view, so that every
page has its API twin (``/`` and ``/api/overview``, ``/links/0`` and ``/api/links/0`` ...).

A :class:`Dashboard` serves a running pipeline (with its planner and a
:class:`~databay_web.monitor.Monitor`) or, for ``databay web PIPELINE``, a pipeline that is
not running: then only its configuration and its stages are known, and nothing can be
changed. Times are Unix seconds; texts are redacted and escaped onto one line.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from typing import Any

from databay.pipeline import LinkSpec, PipelineSpec, effective_config
from databay.printable import printable_line
from databay.schedules import local_zone, zone_name

from databay_web.monitor import Monitor, link_name
from databay_web.quiet import QuietGate
from databay_web.settings import WebSettings
from databay_web.stages import STATES, StageReader

SCHEDULE_KEYS = ("interval", "schedule", "cron")
"""The keys of a link table that say when it is due (one of them)."""
SCHEDULE_OPTIONS = ("start_date", "end_date", "jitter")
"""Options of a cron schedule, shown after it."""
TRANSFER_COUNTS = ("transfers", "failures", "records_in", "records_out", "retries", "dead_lettered",
                   "failing_since", "last")
"""What a link's transfers did: not known in a process whose planner transfers elsewhere."""
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
CHUNK = 100
"""Links handled in one go on the planner's loop before due transfers get their turn."""


class ActionRefused(Exception):
    """An action this pipeline cannot do (the message says why); answered with 409."""


class Dashboard:
    """The pipeline the server shows (see the module's docs).

    :param monitor: the running pipeline's monitor; ``None`` for a pipeline not running.
    """

    def __init__(self, settings: WebSettings, spec: PipelineSpec, monitor: Monitor | None = None):
        self.settings = settings
        self.spec = spec
        self.monitor = monitor
        self.running_here = monitor is not None
        self.stages = StageReader(spec, read_only=not self.running_here or settings.read_only)
        self.config = effective_config(spec)
        self.names = [link_name(link.tags, link.place) for link in spec.links]
        self.zones = [schedule_zone(link) for link in spec.links]
        self.schedules = [schedule_text(link, zone) for link, zone in zip(spec.links, self.zones)]
        self.started = time.time()
        self.gate = QuietGate(monitor)
        """When to build what is read (see :mod:`databay_web.quiet`)."""

    @property
    def planner(self) -> Any:
        return self.monitor.planner if self.monitor is not None else None

    @property
    def transfers_elsewhere(self) -> bool:
        """Whether the running planner transfers its links in other processes (the Celery
        planner's scheduler: its workers do), so that their transfers are not known here."""
        return self.monitor is not None and not self.monitor.transfers_here

    def close(self) -> None:
        self.stages.close()

    def check_link(self, index: int) -> None:
        """:raises KeyError: no link ``index``."""
        if not 0 <= index < len(self.spec.links):
            raise KeyError(index)

    # -- views -------------------------------------------------------------------------

    async def overview(self) -> dict[str, Any]:
        """Every link with its state, last transfer, next due time and stage backlog."""
        backlogs = await self.stages.backlogs()
        links: list[dict[str, Any]] = []
        count, started = len(self.spec.links), time.monotonic()
        for first in range(0, count, CHUNK):
            await self.gate.pause(started)  # a thousand links: not while many transfers start
            chunk = range(first, min(count, first + CHUNK))
            watched = self.monitor.snapshot(chunk) if self.monitor is not None else [None] * len(chunk)
            links += [self._link(index, watch, backlogs.get(index)) for index, watch in zip(chunk, watched)]
        planner = self.planner
        status = getattr(planner, "status", None)
        return {
            "source": printable_line(self.spec.source),
            "running": self.running_here and bool(getattr(planner, "running", False)),
            "running_here": self.running_here,
            "transfers_here": self.running_here and not self.transfers_elsewhere,
            "planner": printable_line(self.spec.planner.use),
            "planner_status": printable_line(status) if isinstance(status, str) else None,
            "started": self.started,
            "now": time.time(),
            "totals": _totals(links, counted=not self.transfers_elsewhere),
            "links": links,
        }

    def _link(self, index: int, watch: dict[str, Any] | None, stage: dict[str, Any] | None) -> dict[str, Any]:
        spec = self.spec.links[index]
        zone = self.zones[index]
        link = {
            "index": index, "name": self.names[index], "label": printable_line(spec.label),
            "tags": [printable_line(tag) for tag in spec.tags],
            "schedule": self.schedules[index],
            "timezone": printable_line(zone_name(zone)) if zone is not None else None,
            "staged": index in self.stages.links,
            "stage": stage,
        }
        if watch is None:
            return {**link, "state": "not running", "paused": None, "next_due": None, "next_due_at": None}
        watch.pop("index"), watch.pop("name"), watch.pop("label"), watch.pop("tags")
        if self.transfers_elsewhere:
            watch.update(dict.fromkeys(TRANSFER_COUNTS))
        paused = self._paused(index)
        due = self._next_due(index)
        return {**link, **watch, "state": _state(watch, paused, self.planner, self.transfers_elsewhere, due),
                "paused": paused, "next_due": due and due.timestamp(),
                "next_due_at": due and due.astimezone(zone or local_zone()).isoformat()}

    def _paused(self, index: int) -> bool | None:
        """Whether link ``index`` is paused; ``None`` when its planner cannot pause links."""
        link_paused = getattr(self.planner, "link_paused", None)
        return bool(link_paused(self.monitor.link(index))) if callable(link_paused) and self.monitor else None

    def _next_due(self, index: int) -> datetime.datetime | None:
        """When link ``index`` is next due, as its planner tells (``next_due_at``)."""
        assert self.monitor is not None
        return self.monitor.next_due_at(self.monitor.link(index))

    async def link(self, index: int) -> dict[str, Any]:
        """Link ``index``: its overview row, recent transfers and failures, and its
        configuration (secrets shown as ``${VAR}``)."""
        self.check_link(index)
        backlogs = await self.stages.backlogs()
        watch = self.monitor.snapshot(range(index, index + 1))[0] if self.monitor is not None else None
        recent, errors = self.monitor.history(index) if self.monitor is not None else ([], [])
        config = self.config["links"][index]
        return {
            **self._link(index, watch, backlogs.get(index)),
            "running_here": self.running_here,
            "transfers_elsewhere": self.transfers_elsewhere,
            "recent": recent,
            "errors": errors,
            "tracebacks": self.settings.debug,
            "arguments": config["arguments"],
            "inlets": config["inlets"],
            "outlets": config["outlets"],
        }

    async def queue(self) -> dict[str, Any]:
        """Each staged link with what its stage holds."""
        backlogs = await self.stages.backlogs()
        return {"links": [{"index": link.index, "name": link.name, "label": link.label, "stage": link.location,
                           "backlog": backlogs.get(link.index)} for link in self.stages.links.values()],
                "read_only": self.stages.read_only}

    async def batches(self, index: int, states: list[str], page: int, per_page: int) -> dict[str, Any]:
        """One page of the batches of link ``index`` in ``states``."""
        staged = self.stages.link(index)
        rows, total = await self.stages.batches(index, states, (page - 1) * per_page, per_page)
        backlogs = await self.stages.backlogs()
        return {"index": index, "name": staged.name, "label": staged.label, "stage": staged.location,
                "states": states, "page": page, "per_page": per_page, "total": total,
                "pages": max(1, -(-total // per_page)), "batches": rows, "backlog": backlogs.get(index),
                "read_only": self.stages.read_only}

    async def batch(self, index: int, number: int) -> dict[str, Any] | None:
        """Batch ``number`` of link ``index`` with (the first of) its records."""
        staged = self.stages.link(index)
        batch, records, total = await self.stages.records(index, number)
        if batch is None:
            return None
        return {"index": index, "name": staged.name, "label": staged.label, "batch": batch, "records": records,
                "total_records": total}

    def log(self, after: int, link: int | None, level: str) -> dict[str, Any]:
        """The recent log records (after number ``after``), of ``link``, at ``level`` or above."""
        entries = [] if self.monitor is None else self.monitor.log.entries(
            after, link, logging.getLevelName(level) if level in LEVELS else logging.NOTSET)
        return {"entries": [entry.__dict__ for entry in entries],
                "last": entries[-1].seq if entries else after,
                "links": [{"index": index, "name": name} for index, name in enumerate(self.names)],
                "levels": list(LEVELS), "running_here": self.running_here}

    def health(self) -> tuple[bool, str]:
        """``(ready, why)`` for ``/readyz``: the planner runs and no link has failed for
        longer than ``unready_after`` seconds."""
        if not self.running_here:
            return False, "the pipeline does not run here (databay web shows it read-only)"
        if not getattr(self.planner, "running", False):
            return False, "the planner does not run"
        assert self.monitor is not None
        failing = self.monitor.failing_longest()
        if failing is not None and failing[1] > self.settings.unready_after:
            watch, seconds = failing
            return False, f"link {watch.name} has failed for {seconds:.0f} s (unready_after {self.settings.unready_after:g} s)"
        return True, "ready"

    # -- actions -----------------------------------------------------------------------------

    def _running_link(self, index: int) -> Any:
        self.check_link(index)
        if self.monitor is None:
            raise ActionRefused("the pipeline does not run here: databay web shows it read-only")
        return self.monitor.link(index)

    async def transfer_now(self, index: int) -> str:
        """Transfer link ``index`` now, on the planner's loop after any transfer of it in flight."""
        link = self._running_link(index)
        if not getattr(self.planner, "running", False):
            raise ActionRefused("the planner does not run")
        if self.transfers_elsewhere:
            raise ActionRefused(f"the {printable_line(self.spec.planner.use)} planner transfers the links elsewhere "
                                f"(on its workers), not in this process")
        assert self.monitor is not None
        self.monitor.by_hand(index)
        # Link.transfer() from another thread runs on the planner's loop (and waits for it).
        stats = await asyncio.get_running_loop().run_in_executor(None, link.transfer)
        if stats is None:
            return f"{self.names[index]}: transferred"
        return f"{self.names[index]}: transferred, {stats.records_pulled} in, {stats.records_pushed} out"

    def pause(self, index: int, paused: bool) -> str:
        """Pause or resume link ``index``, where its planner can."""
        link = self._running_link(index)
        method = getattr(self.planner, "pause_link" if paused else "resume_link", None)
        if not callable(method):
            raise ActionRefused(f"the {printable_line(self.spec.planner.use)} planner cannot pause a link")
        method(link)
        return f"{self.names[index]}: {'paused' if paused else 'resumed'}"

    async def replay(self, index: int, outlet: str | None) -> str:
        """Make the dead letters of link ``index`` (for ``outlet``, or all) pending again."""
        count = await self.stages.replay(self._staged(index), outlet)
        return f"{self.names[index]}: {count} dead-lettered batch(es) pending again"

    async def purge(self, index: int, outlet: str | None) -> str:
        """Delete the dead letters of link ``index`` (for ``outlet``, or all)."""
        count = await self.stages.purge(self._staged(index), outlet)
        return f"{self.names[index]}: {count} dead-lettered batch(es) deleted"

    def _staged(self, index: int) -> int:
        if index not in self.stages.links:
            raise ActionRefused(f"{self.names[index]} has no stage")
        if self.stages.read_only:
            raise ActionRefused("the pipeline does not run here: databay web shows it read-only")
        return index


def schedule_zone(spec: LinkSpec) -> datetime.tzinfo | None:
    """The time zone of a link's calendar or cron schedule (``None`` for an interval)."""
    zone = getattr(spec.arguments.get("interval"), "timezone", None)
    return zone if isinstance(zone, datetime.tzinfo) else None


def schedule_text(spec: LinkSpec, zone: datetime.tzinfo | None) -> str:
    """A link's schedule as written, ``${VAR}`` unexpanded, with its time zone (the
    machine's when the file names none) and a cron schedule's options:
    ``interval 5s``, ``schedule every day at 06:30 (Europe/Amsterdam)``,
    ``cron 0 0 * * 1-5 (UTC), end_date 2025-12-31``."""
    written = spec.written
    for key in SCHEDULE_KEYS:
        if key in written:
            parts = [f"{key} {written[key]}" + (f" ({zone_name(zone)})" if zone is not None else "")]
            parts += [f"{option} {written[option]}" for option in SCHEDULE_OPTIONS if option in written]
            return printable_line(", ".join(parts))
    return "-"


def _state(watch: dict[str, Any], paused: bool | None, planner: Any, elsewhere: bool,
           due: datetime.datetime | None) -> str:
    if not getattr(planner, "running", False):
        return "stopped"
    if paused:
        return "paused"
    if elsewhere:  # what the planner's workers do is not known here
        return "scheduled" if due is not None else "not scheduled here"
    if watch["failing_since"] is not None:
        return "failing"
    return "idle" if watch["transfers"] else "waiting"


def _totals(links: list[dict[str, Any]], counted: bool) -> dict[str, int | None]:
    """The links' figures added up; those of transfers ``None`` unless ``counted`` here."""
    totals: dict[str, int | None] = {
        key: sum(link.get(key) or 0 for link in links) if counted or key == "skipped" else None
        for key in ("transfers", "failures", "records_in", "records_out", "retries", "skipped")}
    totals["failing"] = sum(link["state"] == "failing" for link in links) if counted else None
    totals["dead_batches"] = sum((link["stage"] or {}).get("dead_batches", 0) for link in links)
    totals["pending_batches"] = sum((link["stage"] or {}).get("pending_batches", 0) for link in links)
    return totals


def parse_states(text: str | None) -> list[str]:
    """``pending,dead`` -> the states asked for (all when empty).

    :raises ValueError: an unknown state.
    """
    chosen = [part.strip() for part in (text or "").split(",") if part.strip()] or list(STATES)
    unknown = [state for state in chosen if state not in STATES]
    if unknown:
        raise ValueError(f"state: {', '.join(STATES)} (comma-separated), not {printable_line(', '.join(unknown))}")
    return chosen
