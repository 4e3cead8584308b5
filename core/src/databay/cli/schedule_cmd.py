"""``databay schedule PIPELINE``: when each link of a pipeline is due, without running anything.

The pipeline is checked (as ``databay validate`` does), not built: no constructor runs.
What it prints is redacted, and escaped line by line (:mod:`databay.printable`); JSON
escapes control characters itself.
Each link's next due times come from its schedule (:mod:`databay.schedules`) as if the
planner started at ``--from``: an interval link is due at the start (when it transfers
immediately) and every interval after it; a calendar link at its calendar's times; a cron
link (databay-aps) at its cron times, before any jitter.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from databay.cli.errors import EXIT_USAGE, CliError
from databay.cli.validate_cmd import PIPELINE_HELP
from databay.redaction import redact

if TYPE_CHECKING:
    from databay.pipeline import LinkSpec, PipelineSpec

MAX_COUNT = 1000
"""The most due times ``--next`` lists per link."""


def schedule(
    pipeline: Path = typer.Argument(..., help=PIPELINE_HELP, dir_okay=False),
    count: int = typer.Option(5, "--next", "-n", min=1, max=MAX_COUNT, help="How many due times to list per link."),
    start: str = typer.Option(
        "", "--from", metavar="ISO-DATETIME",
        help="When the planner would start, e.g. 2025-03-30T00:00 or 2025-03-30T00:00+01:00 (default: now; "
             "without an offset, in this machine's time zone).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """List each link's next due times (ISO 8601 with their UTC offset), running nothing.

    Exit 0, or 2 with every problem for an invalid pipeline or a bad --from.
    """
    from databay.pipeline import PipelineError, check_pipeline

    moment = _start(start)
    try:
        spec = check_pipeline(pipeline)
    except PipelineError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    immediately = spec.planner.arguments.get("immediate_transfer", True) is not False
    links = [_link_times(link, moment, count, immediately) for link in spec.links]
    if as_json:
        sys.stdout.write(redact(json.dumps({"source": spec.source, "from": moment.isoformat(), "links": links},
                                           indent=2)) + "\n")
    else:
        print(_text(spec, moment, count, links))


def _start(text: str) -> datetime.datetime:
    """``--from`` as an aware datetime (now when empty; naive: in the machine's zone)."""
    from databay.timezones import local_zone

    if not text:
        return datetime.datetime.now(local_zone()).replace(microsecond=0)
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(f"--from: {text[:40]!r} is not an ISO 8601 date and time (e.g. 2025-03-30T00:00 or "
                       f"2025-03-30T00:00:00+01:00)", EXIT_USAGE) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=local_zone())


def _link_times(link: LinkSpec, start: datetime.datetime, count: int, immediately: bool) -> dict[str, Any]:
    """The due times of ``link`` (JSON-ready) for a planner started at ``start``."""
    from databay.pipeline.intervals import schedule_text
    from databay.schedules import IntervalGrid, due_times
    from databay.timezones import zone_name

    interval = link.arguments["interval"]
    schedule = IntervalGrid(interval.total_seconds()) if isinstance(interval, datetime.timedelta) else interval
    zone = getattr(schedule, "timezone", None)
    zone = zone if isinstance(zone, datetime.tzinfo) else start.tzinfo
    immediate = immediately and link.arguments.get("immediate_transfer", True) is not False
    times = due_times(schedule, start.timestamp(), count, immediate)
    immediate = bool(immediate and times and times[0] == start.timestamp())  # a schedule may not have begun
    described: dict[str, Any] = {"place": link.place, "tags": link.tags, "schedule": schedule_text(interval),
                                 "timezone": zone_name(zone) if zone is not None else None,
                                 "immediate": immediate,
                                 "due": [datetime.datetime.fromtimestamp(t, zone).isoformat() for t in times]}
    jitter = getattr(interval, "jitter", None)
    if jitter:
        described["jitter"] = jitter
    return described


def _text(spec: PipelineSpec, start: datetime.datetime, count: int, links: list[dict[str, Any]]) -> str:
    from databay.printable import printable_line

    lines = [f"{spec.source}: the next {count} due time{'s' if count != 1 else ''} of each link from "
             f"{start.isoformat()} (nothing runs)"]
    for link, described in zip(spec.links, links):
        jitter = f" (each up to {described['jitter']:g} s later: jitter)" if "jitter" in described else ""
        lines.append(f"{link.label}: {described['schedule']}{jitter}")
        for index, due in enumerate(described["due"]):
            note = "  (immediate transfer as the planner starts)" if index == 0 and described["immediate"] else ""
            lines.append(f"  {due}{note}")
        if len(described["due"]) < count:
            lines.append("  (no more: the schedule ends)")
    return "\n".join(printable_line(line) for line in lines)  # redacted, then escaped
