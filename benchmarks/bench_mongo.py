"""MongoOutlet: 20,000 documents written in pushes of 1,000, against nx-27017.

Side by side in one run, against the same nx-27017 server (started by this script on a
free loopback port, in-memory storage), each run writing into a fresh database:

- the limit: raw pymongo, one ``insert_many`` per batch of 1,000 fresh dicts;
- databay: ``MongoOutlet.push`` of 1,000 records per push;
- databay 0.3.0: its ``MongoOutlet.push`` (in ``$DATABAY03_PYTHON``, given host and port).

Measured: throughput (documents per second, wall clock) and client CPU (the writing
process's CPU time, ``time.process_time()``; the server runs in its own process and is
excluded). Documents and records are built before the clock starts.

Targets: databay at least 0.9x raw throughput, and databay's client CPU within 1.5x of raw.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import databay03_python, run_databay03, throughput_table, timed_pushes, verdict  # noqa: E402

DOCUMENTS = 20_000
BATCH = 1_000
ROUNDS = 5
THROUGHPUT_TARGET = 0.9
CPU_TARGET = 1.5


def make_documents(start: int) -> list[dict]:
    return [{"id": i, "name": f"item-{i}", "value": i * 0.5, "done": i % 2 == 0}
            for i in range(start, start + BATCH)]


def measure_raw(uri: str, database: str) -> tuple[float, float]:
    import pymongo

    batches = [make_documents(n) for n in range(0, DOCUMENTS, BATCH)]
    with pymongo.MongoClient(uri) as client:
        collection = client[database]["bench"]
        client.admin.command("ping")
        wall, cpu = time.perf_counter(), time.process_time()
        for batch in batches:
            collection.insert_many(batch)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert collection.count_documents({}) == DOCUMENTS
        client.drop_database(database)
    return wall, cpu


def measure_databay(uri: str, database: str) -> tuple[float, float]:
    import pymongo
    from databay import Record
    from databay_mongo import MongoOutlet

    pushes = [[Record(d) for d in make_documents(n)] for n in range(0, DOCUMENTS, BATCH)]
    outlet = MongoOutlet(database, "bench", uri=uri)
    outlet.try_start()
    wall, cpu = timed_pushes(outlet, pushes)
    outlet.try_shutdown()
    with pymongo.MongoClient(uri) as client:
        assert client[database]["bench"].count_documents({}) == DOCUMENTS
        client.drop_database(database)
    return wall, cpu


DATABAY03 = """
import json
import pymongo
from databay import Record
from databay.outlets import MongoOutlet
from _common import timed_pushes

HOST, PORT, DATABASE, DOCUMENTS, BATCH = {host!r}, {port!r}, {database!r}, {documents}, {batch}

def make_documents(start):
    return [{{"id": i, "name": f"item-{{i}}", "value": i * 0.5, "done": i % 2 == 0}}
            for i in range(start, start + BATCH)]

def run(database):
    pushes = [[Record(d) for d in make_documents(n)] for n in range(0, DOCUMENTS, BATCH)]
    outlet = MongoOutlet(database, "bench", host=HOST, port=PORT)
    outlet.try_start()
    wall, cpu = timed_pushes(outlet, pushes)
    outlet.try_shutdown()
    client = pymongo.MongoClient(host=HOST, port=PORT)
    assert client[database]["bench"].count_documents({{}}) == DOCUMENTS
    client.drop_database(database)
    client.close()
    return wall, cpu

run(DATABASE + "_warmup")
wall, cpu = run(DATABASE)
print(json.dumps({{"wall": wall, "cpu": cpu}}))
"""


def measure_databay03(host: str, port: int, database: str) -> tuple[float, float]:
    result = run_databay03(DATABAY03.format(host=host, port=port, database=database,
                                            documents=DOCUMENTS, batch=BATCH))
    return result["wall"], result["cpu"]


def main() -> int:
    from databay_mongo.testing import NxServer

    with NxServer() as server:
        measure_raw(server.uri, "warmup_raw")
        measure_databay(server.uri, "warmup_databay")
        results: dict[str, list[tuple[float, float]]] = {"raw": [], "databay": [], "databay03": []}
        with_03 = databay03_python() is not None
        # Interleaved rounds, so that drift of the machine or the server hits everyone alike.
        for n in range(ROUNDS):
            results["raw"].append(measure_raw(server.uri, f"raw_{n}"))
            results["databay"].append(measure_databay(server.uri, f"databay_{n}"))
            if with_03:
                results["databay03"].append(measure_databay03(server.host, server.port, f"databay03_{n}"))

    labels = {"raw": "raw pymongo insert_many (limit)", "databay": "databay MongoOutlet",
              "databay03": "databay 0.3.0 MongoOutlet"}
    rate, cpu = throughput_table(f"MongoOutlet: {DOCUMENTS:,} documents in pushes of {BATCH:,} against nx-27017 "
                                 f"(median of {ROUNDS})", "docs", DOCUMENTS, labels, results)
    if "databay03" in rate:
        print(f"databay vs databay 0.3.0: {rate['databay'] / rate['databay03']:.2f}x throughput, "
              f"{cpu['databay03'] / cpu['databay']:.2f}x less client CPU")
    ok = verdict("mongo throughput, databay / raw", rate["databay"] / rate["raw"], THROUGHPUT_TARGET)
    ok &= verdict("mongo client CPU, databay / raw", cpu["databay"] / cpu["raw"], CPU_TARGET,
                  higher_is_better=False)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
