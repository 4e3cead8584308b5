"""``databay stage PIPELINE``: what the links' stages hold; listing, exporting, replaying,
purging and converting their batches.

Works while the pipeline runs: reading a stage never blocks its link, and a replay is
picked up at the link's next transfer. Everything printed or exported passes through
:func:`databay.redaction.redact`. Labels (tags), outlet names, error messages and records
are input: the human views escape them onto one line (:mod:`databay.printable`); JSON
output and JSON Lines exports hold them exactly, their control characters escaped by JSON;
a CSV export holds them exactly as they are.
"""

from __future__ import annotations

import csv
import datetime
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import typer

from databay.cli.errors import EXIT_USAGE, CliError
from databay.cli.validate_cmd import PIPELINE_HELP
from databay.printable import printable_line
from databay.redaction import redact

STATES = ("pending", "dead", "delivered")
FORMATS = ("jsonl", "csv")


@dataclass
class _StagedLink:
    """A link of the pipeline that has a stage, and what the stage holds for it."""

    label: str
    stage: Any  # a databay.stage.Stage
    outlets: list[str]
    backlog: list[Any] = field(default_factory=list)
    delivered: list[Any] = field(default_factory=list)
    exists: bool = True

    @property
    def location(self) -> str:
        return self.stage.location

    @property
    def orphans(self) -> list[str]:
        """Outlets the stage owes batches to that the link no longer has."""
        return sorted({entry.outlet for entry in self.backlog} - set(self.outlets))

    def as_dict(self) -> dict[str, Any]:
        by_outlet: dict[str, dict[str, Any]] = {
            name: {"outlet": name, "in_link": True, "pending": None, "dead": None} for name in self.outlets}
        for entry in self.backlog:
            row = by_outlet.setdefault(entry.outlet, {"outlet": entry.outlet, "in_link": False, "pending": None,
                                                      "dead": None})
            row[entry.state] = {"batches": entry.batches, "records": entry.records, "oldest": entry.oldest,
                                "last_failed_at": entry.last_failed_at, "last_error": entry.last_error}
        delivered = None
        if self.delivered:
            delivered = {"batches": len(self.delivered), "records": sum(b.size for b in self.delivered),
                         "oldest": min(b.created for b in self.delivered)}
        return {"link": self.label, "stage": self.location, "exists": self.exists,
                "outlets": list(by_outlet.values()), "delivered": delivered}


def stage(
    pipeline: Path = typer.Argument(..., help=PIPELINE_HELP, dir_okay=False),
    list_batches: bool = typer.Option(False, "--list", help="List the batches, one line per batch and outlet: "
                                      "pending, dead-lettered, and delivered ones kept for stage_retention."),
    export: str | None = typer.Option(None, "--export", metavar="FILE", help="Write the records of the batches "
                                      "to FILE ('-': standard output): JSON Lines, or CSV (--format csv, or a .csv "
                                      "FILE)."),
    file_format: str | None = typer.Option(None, "--format", help="With --export: jsonl or csv (default: by "
                                           "FILE's extension, else jsonl)."),
    states: str = typer.Option(",".join(STATES), "--state", help="With --list and --export: which batches, "
                               "among pending, dead and delivered (comma-separated)."),
    replay: bool = typer.Option(False, "--replay", help="Make dead-lettered batches pending again: a running "
                                "pipeline delivers them at its next transfer, else the next run does."),
    purge: bool = typer.Option(False, "--purge", help="Delete dead-lettered batches (those that cannot be "
                               "decoded too), and the batches owed to outlets a link no longer has, after a "
                               "confirmation."),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --purge: do not ask."),
    migrate: bool = typer.Option(False, "--migrate", help="Convert stages written by an earlier databay to the "
                                 "current format (only for files you trust: see docs/reliability.md)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Show the pending, dead-lettered and kept batches of each staged link, per outlet; list,
    export, replay, purge or convert them.

    Exit 0 when done, 1 when a stage cannot be read or written, 2 for an invalid pipeline
    or bad options (a purge without --yes outside a terminal, say).
    """
    from databay.pipeline import PipelineError, check_pipeline

    actions = [name for name, chosen in (("--list", list_batches), ("--export", export is not None),
                                         ("--replay", replay), ("--purge", purge), ("--migrate", migrate)) if chosen]
    if len(actions) > 1:
        raise CliError(f"{' and '.join(actions)} cannot be used together", EXIT_USAGE)
    wanted = _states(states)
    export_format = _export_format(export, file_format)
    try:
        spec = check_pipeline(pipeline)
    except PipelineError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    links = [_staged_link(link) for link in spec.links if link.arguments.get("stage") is not None]
    if migrate:
        _migrate(links, as_json)
        return
    for link in links:
        _read(link)
    if replay:
        _replay(links, as_json)
    elif purge:
        _purge(links, yes, as_json)
    elif list_batches:
        _list(spec.source, links, wanted, as_json)
    elif export is not None:
        _export(links, wanted, export, export_format)
    elif as_json:
        _print_json({"source": spec.source, "links": [link.as_dict() for link in links]})
    else:
        _show(spec.source, links)


def _states(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [state for state in chosen if state not in STATES]
    if unknown or not chosen:
        raise CliError(f"--state takes {', '.join(STATES)} (comma-separated), not '{text}'", EXIT_USAGE)
    return chosen


def _export_format(export: str | None, file_format: str | None) -> str:
    if file_format is not None and export is None:
        raise CliError("--format goes with --export FILE", EXIT_USAGE)
    if file_format is None:
        return "csv" if export is not None and export.lower().endswith(".csv") else "jsonl"
    if file_format not in FORMATS:
        raise CliError(f"--format must be jsonl or csv, not '{file_format}'", EXIT_USAGE)
    return file_format


def _staged_link(link_spec: Any) -> _StagedLink:
    from databay.pipeline import ComponentSpec
    from databay.stage import SqliteStage
    from databay.stage.naming import numbered

    value = link_spec.arguments["stage"]
    if isinstance(value, ComponentSpec):
        try:
            stage = value.target(**value.arguments)
        except Exception as exc:  # noqa: BLE001 - a backend's constructor may raise anything
            raise CliError(printable_line(f"{value.label}: could not be built: {type(exc).__name__}: {exc}")) from None
    else:
        stage = SqliteStage(value)
    outlets = numbered([getattr(spec.target, "__name__", str(spec.target)) for spec in link_spec.components("outlets")])
    return _StagedLink(link_spec.label, stage, outlets)


def _read(link: _StagedLink) -> None:
    from databay.stage.base import DELIVERED

    link.exists = link.stage.exists()
    if link.exists:
        with _opened(link):
            link.backlog = _stage_call(link.stage.backlog)
            link.delivered = _stage_call(link.stage.batches, [DELIVERED])


def _opened(link: _StagedLink) -> Any:
    """``with _opened(link):`` the link's stage, open (a stage that cannot be: exit 1)."""
    from databay.stage import StageError

    try:
        link.stage.open()
    except StageError as exc:
        raise CliError(printable_line(str(exc))) from None
    return link.stage


def _print_json(data: Any) -> None:
    sys.stdout.write(redact(json.dumps(data, indent=2)) + "\n")


def _print_results(key: str, results: list[dict], as_json: bool, line: Callable[[dict], str]) -> bool:
    """What a command did to each link: ``{key: results}`` in JSON (then ``True``: nothing
    more to print), else ``line(result)`` for each."""
    if as_json:
        _print_json({key: results})
        return True
    for result in results:
        print(printable_line(line(result)))
    return False


# -- the summary -------------------------------------------------------------------------


def _show(source: str, links: list[_StagedLink]) -> None:
    from rich.console import Console
    from rich.table import Table

    from databay.cli.markup import line

    console = Console(emoji=False)
    if not links:
        console.print(f"{line(source)}: no link has a stage")
        return
    table = Table(title=f"{line(source)}: stages", title_justify="left")
    for column in ("link", "outlet", "pending", "dead-lettered", "oldest", "last error"):
        table.add_column(column, overflow="fold")
    now = time.time()
    for link in links:
        if not link.exists:
            table.add_row(line(link.label), "-", "-", "-", "-", f"[dim]{line(link.location)} not created yet[/dim]")
            continue
        for row in link.as_dict()["outlets"]:
            pending, dead = row["pending"], row["dead"]
            oldest = min((s["oldest"] for s in (pending, dead) if s), default=None)
            failures = [s for s in (pending, dead) if s and s["last_failed_at"]]
            last = max(failures, key=lambda s: s["last_failed_at"])["last_error"] if failures else ""
            outlet = line(row["outlet"]) + ("" if row["in_link"] else " [yellow](not in the link)[/yellow]")
            table.add_row(line(link.label), outlet, _count(pending), _count(dead),
                          _age(now - oldest) if oldest else "-", line(_short(last or "")))
    console.print(table)
    for link in links:
        kept = link.as_dict()["delivered"]
        if kept:
            console.print(f"{line(link.label)}: {_count(kept)} delivered, kept for its stage_retention (oldest "
                          f"{_age(now - kept['oldest'])}); --list and --export show them")
        if link.orphans:
            console.print(f"[yellow]{line(link.label)}:[/yellow] batches wait for outlets the link no longer has "
                          f"({line(', '.join(link.orphans))}); --purge deletes them")


def _count(state: dict[str, Any] | None) -> str:
    if not state:
        return "0"
    return f"{state['batches']:,} ({state['records']:,} records)"


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{max(seconds, 0):.0f} s"


def _short(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 100 else line[:97] + "..."


# -- listing and exporting ----------------------------------------------------------------


def _stage_call(method: Any, *args: Any) -> Any:
    """``method(*args)`` of a stage; a StageError becomes a CliError (exit 1)."""
    from databay.stage import StageError

    try:
        return method(*args)
    except StageError as exc:
        raise CliError(printable_line(str(exc))) from None


def _list(source: str, links: list[_StagedLink], wanted: list[str], as_json: bool) -> None:
    rows = []
    for link in links:
        if link.exists:
            with _opened(link):
                batches = _stage_call(link.stage.batches, wanted)
            rows += [{"link": link.label, "stage": link.location, "batch_id": b.batch_id, "outlet": b.outlet,
                      "state": b.state, "records": b.size, "created": b.created, "transfer": b.transfer,
                      "attempts": b.attempts, "at": b.at, "error": b.error} for b in batches]
    if as_json:
        _print_json({"source": source, "batches": rows})
        return
    from rich.console import Console
    from rich.table import Table

    from databay.cli.markup import line

    console = Console(emoji=False)
    if not rows:
        console.print(f"{line(source)}: no {' or '.join(wanted)} batch")
        return
    table = Table(title=f"{line(source)}: batches ({', '.join(wanted)})", title_justify="left")
    for column in ("link", "batch", "outlet", "state", "records", "created", "failed / delivered", "error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(line(row["link"]), line(row["batch_id"]), line(row["outlet"] or "-"), row["state"],
                      f"{row['records']:,}", _when(row["created"]), _when(row["at"]), line(_short(row["error"] or "")))
    console.print(table)


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(stamp).isoformat(sep=" ", timespec="seconds")


def _export(links: list[_StagedLink], wanted: list[str], target: str, file_format: str) -> None:
    from databay.stage.export import batches_once

    records = batches = 0
    with _output(target, file_format) as out:
        write = _csv_writer(out) if file_format == "csv" else _jsonl_writer(out)
        for link in links:
            if not link.exists:
                continue
            with _opened(link):
                for entry, outlets in batches_once(_stage_call(link.stage.batches, wanted)):
                    batches += 1
                    for row in _rows(link, entry, outlets):
                        records += row["record_id"] is not None
                        write(row)
    where = "standard output" if target == "-" else target
    print(f"exported {records:,} record(s) of {batches:,} batch(es) ({', '.join(wanted)}) to {where}",
          file=sys.stderr if target == "-" else sys.stdout)


def _rows(link: _StagedLink, entry: Any, outlets: list[str]) -> Iterator[dict[str, Any]]:
    """The export rows of a batch of an open stage (:func:`databay.stage.export.record_rows`)."""
    from databay.stage import StageError
    from databay.stage.export import record_rows

    try:
        yield from record_rows(link.stage, link.label, entry, outlets)
    except StageError as exc:
        raise CliError(printable_line(str(exc))) from None


class _output:
    """``with _output(target, format) as out``: the file to write (``-``: standard output)."""

    def __init__(self, target: str, file_format: str):
        self.target, self.newline = target, "" if file_format == "csv" else None
        self.file: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        if self.target == "-":
            return sys.stdout
        try:
            self.file = open(self.target, "w", encoding="utf-8", newline=self.newline)
        except OSError as exc:
            raise CliError(f"cannot write {self.target}: {exc.strerror or exc}") from None
        return self.file

    def __exit__(self, *exc_info: object) -> None:
        if self.file is not None:
            self.file.close()


def _jsonl_writer(out: IO[str]) -> Any:
    from databay.stage.export import jsonl_line

    def write(row: dict[str, Any]) -> None:
        out.write(jsonl_line(row))

    return write


def _csv_writer(out: IO[str]) -> Any:
    from databay.stage.export import COLUMNS, csv_cells

    writer = csv.writer(out)
    writer.writerow(COLUMNS)

    def write(row: dict[str, Any]) -> None:
        writer.writerow(csv_cells(row))

    return write


# -- replaying, purging, converting ----------------------------------------------------------


def _replay(links: list[_StagedLink], as_json: bool) -> None:
    results = []
    for link in links:
        if not link.exists:
            continue
        with _opened(link):
            count = _stage_call(link.stage.replay)
        results.append({"link": link.label, "stage": link.location, "replayed": count})
    if _print_results("replayed", results, as_json,
                      lambda result: f"{result['link']}: {result['replayed']} dead-lettered batch(es) are "
                                     f"pending again"):
        return
    total = sum(r["replayed"] for r in results)
    print(f"{total} batch(es) replayed: a running pipeline delivers them at its next transfer, "
          f"else the next run does" if total else "no dead-lettered batch to replay")


def _purge(links: list[_StagedLink], yes: bool, as_json: bool) -> None:
    plan = []
    for link in links:
        dead = [e for e in link.backlog if e.state == "dead" and e.outlet in link.outlets]
        orphans = [e for e in link.backlog if e.outlet not in link.outlets]
        if dead or orphans:
            plan.append((link, dead, orphans))
    if not plan:
        if as_json:
            _print_json({"purged": []})
        else:
            print("nothing to purge")
        return
    if not as_json:
        for link, dead, orphans in plan:
            for entry in dead:
                print(printable_line(f"{link.label}: {entry.outlet}: {entry.batches} dead-lettered batch(es), "
                                     f"{entry.records} records"))
            for entry in orphans:
                print(printable_line(f"{link.label}: {entry.outlet} (not in the link): {entry.batches} "
                                     f"{entry.state} batch(es), {entry.records} records"))
    if not yes:
        if not sys.stdin.isatty():
            raise CliError("--purge deletes batches for good: confirm in a terminal, or pass --yes", EXIT_USAGE)
        if not typer.confirm("Delete these batches for good?", default=False):
            print("nothing deleted")
            return
    results = []
    for link, dead, orphans in plan:
        with _opened(link):
            purged = sum(_stage_call(link.stage.purge, outlet)
                         for outlet in sorted({e.outlet for e in dead}))
            forgotten = sum(_stage_call(link.stage.forget, outlet)
                            for outlet in sorted({e.outlet for e in orphans}))
        results.append({"link": link.label, "stage": link.location, "dead_lettered": purged,
                        "not_in_link": forgotten})
    _print_results("purged", results, as_json,
                   lambda result: f"{result['link']}: deleted {result['dead_lettered']} dead-lettered batch(es)"
                                  + (f" and {result['not_in_link']} owed to outlets no longer in the link"
                                     if result["not_in_link"] else ""))


def _migrate(links: list[_StagedLink], as_json: bool) -> None:
    from databay.stage import SqliteStage

    results = []
    for link in links:
        if not isinstance(link.stage, SqliteStage) or not link.stage.exists():
            continue
        converted, unreadable = _stage_call(link.stage.migrate)
        link.stage.close()
        results.append({"link": link.label, "stage": link.location, "converted": converted,
                        "unreadable": unreadable})
    def line(result: dict) -> str:
        note = (f"; {result['unreadable']} could not be read and will be dead-lettered when delivered"
                if result["unreadable"] else "")
        return f"{result['link']}: {result['converted']} batch(es) converted to the current format{note}"

    if _print_results("migrated", results, as_json, line):
        return
    if not results:
        print("no stage to convert")
