"""A staged link: positions kept across a restart, retries, a dead letter and its replay. Offline.

    python examples/staged_link.py

Lines appended to a log file go to a copy of it and to a "warehouse" that is down at first.
The link's stage (out/staged/link.stage) keeps what the warehouse has not taken, and the
inlet's position, so that a restart neither loses nor repeats a line.

Typed throughout: the types session of noxfile.py checks it with mypy.
"""

import shutil
from pathlib import Path
from typing import Any

from databay import Inlet, Link, Outlet, Record, RetryPolicy, Update
from databay.outlets import FileOutlet
from databay.stage import SqliteStage, Stage

FOLDER = Path("out/staged")


class LogInlet(Inlet):
    """The complete lines appended to a file since the last pull; its state is the offset."""

    def __init__(self, path: Path, **kwargs: Any):
        super().__init__(**kwargs)
        self.path, self.offset = path, 0

    def pull(self, update: Update) -> list[str]:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)  # one step, after reading
        return [line.decode() for line in complete.splitlines()]

    def get_state(self) -> dict[str, int]:
        return {"offset": self.offset}

    def set_state(self, state: dict[str, int]) -> None:
        self.offset = state["offset"]


class Warehouse(Outlet):
    """An outlet that is down until ``up`` is set."""

    up = False

    def push(self, records: list[Record], update: Update) -> None:
        if not Warehouse.up:
            raise ConnectionError("warehouse is down")
        print(f"  warehouse took {[r.payload for r in records]}")


def make_link() -> Link:
    # A new link and new nodes each time, as after a restart of the process.
    return Link(LogInlet(FOLDER / "app.log"), [FileOutlet(FOLDER / "copy.log"), Warehouse()], interval=5,
                tags="log", stage=FOLDER / "link.stage",
                retry=RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.05))


def append(*lines: str) -> None:
    with open(FOLDER / "app.log", "a") as f:
        f.writelines(f"{line}\n" for line in lines)


def show(stage: Stage | None) -> None:
    assert stage is not None  # the links of this example all have one
    for entry in stage.backlog():
        print(f"  stage: {entry.outlet} has {entry.batches} {entry.state} batch(es), {entry.records} record(s); "
              f"last error: {entry.last_error}")


shutil.rmtree(FOLDER, ignore_errors=True)
FOLDER.mkdir(parents=True)
append("start", "login alice")

print("1. First run: the warehouse is down; after 3 attempts its batch is dead-lettered.")
link = make_link()
link.on_start()
stats = link.transfer()
print(f"  pulled {stats.records_pulled}, dead-lettered {stats.dead_lettered}")
show(link.stage)
link.on_shutdown()

print("2. Restart: the position comes back from the stage, so only the new line is read.")
append("logout alice")
link = make_link()
link.on_start()
link.transfer()
show(link.stage)
link.on_shutdown()

print("3. The warehouse is back: replay the dead letters; the next transfer delivers them first.")
Warehouse.up = True
with SqliteStage(FOLDER / "link.stage") as stage:  # the stage file a link was given, opened on its own
    print(f"  replayed {stage.replay()} batch(es)")
link = make_link()
link.on_start()
append("login bob")
link.transfer()
show(link.stage)
link.on_shutdown()
print(f"copy.log: {(FOLDER / 'copy.log').read_text().splitlines()}")
