"""SqlOutlet and SqlInlet against raw SQLAlchemy doing the same work, on SQLite and PostgreSQL.

Side by side in one run, each writer into a fresh table (SQLite: a file in a temporary
folder, in memory under ``/dev/shm`` where there is one; PostgreSQL: a server started by this script from the distribution's binaries,
``fsync=off``, on a free loopback port, or the one at ``$DATABAY_TEST_POSTGRES_URL``):

- writes, 50,000 rows (20,000 on PostgreSQL) of 5 columns in batches of 1,000:
  - the limit: raw SQLAlchemy, one transaction per batch, ``connection.execute(insert(table),
    rows)`` (an ``executemany``) of 1,000 fresh dicts;
  - databay: ``SqlOutlet.push`` of 1,000 records per push (insert mode);
  - upserts: raw ``insert(...).on_conflict_do_update`` against ``SqlOutlet(mode='upsert')``;
- reads, the same rows in batches of 1,000: raw ``SELECT ... WHERE id > :last ORDER BY id
  LIMIT 1000`` loops against ``SqlInlet.pull``.

Rows and records are built before the clock starts. Throughput is rows per second (wall
clock), client CPU the benchmark process's CPU time (``time.process_time()``: on SQLite all
of the work, on PostgreSQL the client's side only); medians of 5 interleaved rounds.

Target: SqlOutlet at least 0.9x raw ``executemany`` throughput on each database.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from _common import Table, median, verdict  # noqa: E402

BATCH = 1_000
ROWS = {"sqlite": 50_000, "postgresql": 20_000}
ROUNDS = 5
TARGET = 0.9


def make_rows(start: int) -> list[dict]:
    return [{"id": i, "name": f"item-{i}", "value": i * 0.5, "done": i % 2 == 0, "note": None}
            for i in range(start, start + BATCH)]


def define(metadata: sa.MetaData, name: str) -> sa.Table:
    return sa.Table(name, metadata, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("name", sa.String(40)), sa.Column("value", sa.Float), sa.Column("done", sa.Boolean),
                    sa.Column("note", sa.String(40)))


class Clock:
    """Wall clock and this process's CPU time since it was made.

    What was built before the clock (rows, records: 100,000 objects for databay's measures,
    half that for raw SQLAlchemy's) is frozen out of the garbage collector's way until the
    clock stops, so that no measure pays for the collector walking its own test data (that
    was 8% of SqlOutlet's CPU time on SQLite).
    """

    def __init__(self) -> None:
        gc.collect()
        gc.freeze()
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self) -> tuple[float, float]:
        elapsed = time.perf_counter() - self.wall, time.process_time() - self.cpu
        gc.unfreeze()
        return elapsed


class Target:
    """Where one round writes: a fresh table (and, on SQLite, a fresh file)."""

    def __init__(self, url_for: Callable[[str], str], dialect: str, rows: int):
        self.url_for, self.dialect, self.rows = url_for, dialect, rows
        self.names = iter(range(10**6))

    @contextlib.contextmanager
    def fresh(self) -> Iterator[tuple[str, str]]:
        """``(url, table name)`` of a new empty table, dropped afterwards."""
        name = f"bench_{next(self.names)}"
        url = self.url_for(name)
        engine = sa.create_engine(url)
        metadata = sa.MetaData()
        define(metadata, name)
        metadata.create_all(engine)
        try:
            yield url, name
            with engine.connect() as connection:
                count = connection.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one()
            assert count == self.rows, (count, self.rows)
        finally:
            metadata.drop_all(engine)
            engine.dispose()


def batches(rows: int) -> list[list[dict]]:
    return [make_rows(n) for n in range(0, rows, BATCH)]


def raw_insert(target: Target, upsert: bool = False) -> tuple[float, float]:
    data = batches(target.rows)
    with target.fresh() as (url, name):
        engine = sa.create_engine(url)
        table = sa.Table(name, sa.MetaData(), autoload_with=engine)
        statement = sa.insert(table)
        if upsert:
            from sqlalchemy.dialects import postgresql, sqlite

            dialect_insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[target.dialect](table)
            statement = dialect_insert.on_conflict_do_update(
                index_elements=["id"], set_={c: dialect_insert.excluded[c] for c in ("name", "value", "done", "note")})
        with engine.connect():
            pass  # the pool's first connection is not part of the measure
        clock = Clock()
        for rows in data:
            with engine.begin() as connection:
                connection.execute(statement, rows)
        elapsed = clock.stop()
        engine.dispose()
    return elapsed


def databay_push(target: Target, upsert: bool = False) -> tuple[float, float]:
    from databay import Record, Update
    from databay_sql import SqlOutlet

    pushes = [[Record(row) for row in rows] for rows in batches(target.rows)]
    with target.fresh() as (url, name):
        outlet = SqlOutlet(url, name, "upsert", "id") if upsert else SqlOutlet(url, name)
        update = Update(["bench"], 0)
        outlet.push(pushes[0][:1], update)  # reflects the table and opens the pool's connection
        with outlet.engine.begin() as connection:
            connection.execute(sa.text(f"DELETE FROM {name}"))
        clock = Clock()
        for records in pushes:
            outlet.push(records, update)
        elapsed = clock.stop()
        outlet.on_shutdown()
    return elapsed


@contextlib.contextmanager
def filled(target: Target) -> Iterator[tuple[str, str]]:
    with target.fresh() as (url, name):
        engine = sa.create_engine(url)
        table = sa.Table(name, sa.MetaData(), autoload_with=engine)
        with engine.begin() as connection:
            for rows in batches(target.rows):
                connection.execute(sa.insert(table), rows)
        engine.dispose()
        yield url, name


def raw_read(target: Target) -> tuple[float, float]:
    with filled(target) as (url, name):
        engine = sa.create_engine(url)
        table = sa.Table(name, sa.MetaData(), autoload_with=engine)
        query = sa.select(table).where(table.c.id > sa.bindparam("last")).order_by(table.c.id).limit(BATCH)
        read, last = 0, -1
        with engine.connect():
            pass
        clock = Clock()
        while True:
            with engine.connect() as connection:
                rows = [dict(row) for row in connection.execute(query, {"last": last}).mappings()]
            if not rows:
                break
            read, last = read + len(rows), rows[-1]["id"]
        elapsed = clock.stop()
        engine.dispose()
        assert read == target.rows
    return elapsed


def databay_read(target: Target) -> tuple[float, float]:
    from databay import Update
    from databay_sql import SqlInlet

    with filled(target) as (url, name):
        inlet = SqlInlet(url, name, cursor="id", batch_size=BATCH)
        inlet.pull(Update(["bench"], 0))
        inlet.position = None  # the table is reflected and a connection pooled
        update = Update(["bench"], 1)
        read = 0
        clock = Clock()
        while rows := inlet.pull(update):
            read += len(rows)
        elapsed = clock.stop()
        inlet.on_shutdown()
        assert read == target.rows
    return elapsed


MEASURES: dict[str, tuple[str, Callable[[Target], tuple[float, float]]]] = {
    "raw": ("raw executemany (limit)", raw_insert),
    "outlet": ("databay SqlOutlet, insert", databay_push),
    "raw_upsert": ("raw on_conflict_do_update", lambda t: raw_insert(t, upsert=True)),
    "outlet_upsert": ("databay SqlOutlet, upsert", lambda t: databay_push(t, upsert=True)),
    "raw_read": ("raw SELECT ... LIMIT loop", raw_read),
    "inlet": ("databay SqlInlet.pull", databay_read),
}
RATIOS = {"outlet": "raw", "outlet_upsert": "raw_upsert", "inlet": "raw_read"}


def measure(target: Target) -> tuple[dict[str, float], dict[str, float]]:
    """Rows per second (wall clock) and client CPU seconds of each measure: medians."""
    for _, run in MEASURES.values():  # warm up: imports, statement caches
        run(target)
    times: dict[str, list[tuple[float, float]]] = {key: [] for key in MEASURES}
    for _ in range(ROUNDS):  # interleaved, so that drift of the machine hits everyone alike
        for key, (_, run) in MEASURES.items():
            times[key].append(run(target))
    rates = {key: target.rows / median(wall for wall, _ in values) for key, values in times.items()}
    cpu = {key: median(cpu for _, cpu in values) for key, values in times.items()}
    return rates, cpu


def report(target: Target, rates: dict[str, float], cpu: dict[str, float]) -> bool:
    table = Table(f"{target.dialect}: {target.rows:,} rows in batches of {BATCH:,} (median of {ROUNDS})",
                  ["", "rows/s", "x raw", "client CPU s", "x raw CPU"])
    for key, (label, _) in MEASURES.items():
        base = RATIOS.get(key, key)
        table.add_row(label, rates[key], f"{rates[key] / rates[base]:.2f}x", cpu[key], f"{cpu[key] / cpu[base]:.2f}x")
    table.print()
    return verdict(f"{target.dialect} SqlOutlet insert throughput, databay / raw executemany",
                   rates["outlet"] / rates["raw"], TARGET)


def main() -> int:
    from databay_sql.testing import postgres_missing_reason, server_for_tests

    ok = True
    # SQLite files in memory (tmpfs) where there is one: the disk's fsync at each commit would
    # otherwise be most of the time measured, and the noisiest part of it.
    memory = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="databay-bench-sql-", dir=memory) as folder:
        sqlite = Target(lambda name: f"sqlite:///{Path(folder) / name}.db", "sqlite", ROWS["sqlite"])
        ok &= report(sqlite, *measure(sqlite))
    reason = postgres_missing_reason()
    if reason is not None:
        print(f"PostgreSQL left out: {reason}")
        return 0 if ok else 1
    with server_for_tests() as server:
        server.create_database("databay_bench")
        postgres = Target(lambda name: server.url_for("databay_bench"), "postgresql", ROWS["postgresql"])
        try:
            ok &= report(postgres, *measure(postgres))
        finally:
            server.drop_database("databay_bench")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
