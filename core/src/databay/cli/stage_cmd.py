"""``databay stage PIPELINE``: what the links' stages hold, and replaying or purging dead letters.

Works while the pipeline runs: reading a stage never blocks its link, and a replay is
picked up at the link's next transfer.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from databay.cli.errors import EXIT_USAGE, CliError


@dataclass
class _StagedLink:
    """A link of the pipeline that has a stage, and what the stage holds for it."""

    label: str
    path: Path
    outlets: list[str]
    backlog: list[Any] = field(default_factory=list)
    exists: bool = True

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
        return {"link": self.label, "stage": str(self.path), "exists": self.exists, "outlets": list(by_outlet.values())}


def stage(
    pipeline: Path = typer.Argument(..., help="The pipeline file (TOML).", dir_okay=False),
    replay: bool = typer.Option(False, "--replay", help="Make dead-lettered batches pending again: a running "
                                "pipeline delivers them at its next transfer, else the next run does."),
    purge: bool = typer.Option(False, "--purge", help="Delete dead-lettered batches, and the batches owed to "
                               "outlets a link no longer has, after a confirmation."),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --purge: do not ask."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Show the pending and dead-lettered batches of each staged link, per outlet; replay or purge them.

    Exit 0 when done, 1 when a stage cannot be read or written, 2 for an invalid pipeline
    or bad options (a purge without --yes outside a terminal, say).
    """
    from databay.pipeline import PipelineError, check_pipeline

    if replay and purge:
        raise CliError("--replay and --purge cannot be used together", EXIT_USAGE)
    try:
        spec = check_pipeline(pipeline)
    except PipelineError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    links = [_read(link) for link in spec.links if link.arguments.get("stage") is not None]
    if replay:
        _replay(links, as_json)
    elif purge:
        _purge(links, yes, as_json)
    elif as_json:
        sys.stdout.write(json.dumps({"source": spec.source, "links": [link.as_dict() for link in links]},
                                    indent=2) + "\n")
    else:
        _show(spec.source, links)


def _read(link_spec: Any) -> _StagedLink:
    from databay.staged_transfer import numbered

    path = Path(link_spec.arguments["stage"])  # a path: the pipeline's stage key takes nothing else
    outlets = numbered([getattr(spec.target, "__name__", str(spec.target)) for spec in link_spec.components("outlets")])
    staged = _StagedLink(link_spec.label, path, outlets)
    if not path.exists():
        staged.exists = False
        return staged
    with _opened(path) as opened:
        staged.backlog = opened.backlog()
    return staged


def _opened(path: Path):
    from databay.stage import Stage, StageError

    stage = Stage(path)
    try:
        stage.open()
    except StageError as exc:
        raise CliError(str(exc)) from None
    return stage


def _show(source: str, links: list[_StagedLink]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(emoji=False)
    if not links:
        console.print(f"{escape(source)}: no link has a stage")
        return
    table = Table(title=f"{escape(source)}: stages", title_justify="left")
    for column in ("link", "outlet", "pending", "dead-lettered", "oldest", "last error"):
        table.add_column(column, overflow="fold")
    now = time.time()
    for link in links:
        if not link.exists:
            table.add_row(escape(link.label), "-", "-", "-", "-", f"[dim]{escape(str(link.path))} not created yet[/dim]")
            continue
        for row in link.as_dict()["outlets"]:
            pending, dead = row["pending"], row["dead"]
            oldest = min((s["oldest"] for s in (pending, dead) if s), default=None)
            failures = [s for s in (pending, dead) if s and s["last_failed_at"]]
            last = max(failures, key=lambda s: s["last_failed_at"])["last_error"] if failures else ""
            outlet = escape(row["outlet"]) + ("" if row["in_link"] else " [yellow](not in the link)[/yellow]")
            table.add_row(escape(link.label), outlet, _count(pending), _count(dead),
                          _age(now - oldest) if oldest else "-", escape(_short(last or "")))
    console.print(table)
    for link in links:
        if link.orphans:
            console.print(f"[yellow]{escape(link.label)}:[/yellow] batches wait for outlets the link no longer has "
                          f"({escape(', '.join(link.orphans))}); --purge deletes them")


def _count(state: dict[str, Any] | None) -> str:
    if not state:
        return "0"
    return f"{state['batches']:,} ({state['records']:,} records)"


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def _short(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 100 else line[:97] + "..."


def _replay(links: list[_StagedLink], as_json: bool) -> None:
    results = []
    for link in links:
        if not link.exists:
            continue
        with _opened(link.path) as opened:
            count = opened.replay()
        results.append({"link": link.label, "stage": str(link.path), "replayed": count})
    if as_json:
        sys.stdout.write(json.dumps({"replayed": results}, indent=2) + "\n")
        return
    total = sum(r["replayed"] for r in results)
    for result in results:
        print(f"{result['link']}: {result['replayed']} dead-lettered batch(es) are pending again")
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
            sys.stdout.write(json.dumps({"purged": []}, indent=2) + "\n")
        else:
            print("nothing to purge")
        return
    if not as_json:
        for link, dead, orphans in plan:
            for entry in dead:
                print(f"{link.label}: {entry.outlet}: {entry.batches} dead-lettered batch(es), {entry.records} records")
            for entry in orphans:
                print(f"{link.label}: {entry.outlet} (not in the link): {entry.batches} {entry.state} batch(es), "
                      f"{entry.records} records")
    if not yes:
        if not sys.stdin.isatty():
            raise CliError("--purge deletes batches for good: confirm in a terminal, or pass --yes", EXIT_USAGE)
        if not typer.confirm("Delete these batches for good?", default=False):
            print("nothing deleted")
            return
    results = []
    for link, dead, orphans in plan:
        with _opened(link.path) as opened:
            purged = sum(opened.purge(outlet) for outlet in sorted({e.outlet for e in dead}))
            forgotten = sum(opened.forget(outlet) for outlet in sorted({e.outlet for e in orphans}))
        results.append({"link": link.label, "stage": str(link.path), "dead_lettered": purged,
                        "not_in_link": forgotten})
    if as_json:
        sys.stdout.write(json.dumps({"purged": results}, indent=2) + "\n")
        return
    for result in results:
        print(f"{result['link']}: deleted {result['dead_lettered']} dead-lettered batch(es)"
              + (f" and {result['not_in_link']} owed to outlets no longer in the link"
                 if result["not_in_link"] else ""))
