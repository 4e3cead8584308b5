"""Idempotent MongoDB writes: which way writes nothing twice fastest, against nx-27017.

A staged link delivers a batch again after a crash or a lost reply; ``MongoOutlet(
idempotent=True)`` must then write nothing twice. Two ways to do it with stable ``_id``s,
measured side by side (10 batches of 1,000 documents, each way into a fresh collection):

- unordered ``insert_many`` ignoring duplicate-key errors (what ``idempotent=True`` does);
- unordered ``bulk_write`` of ``ReplaceOne(..., upsert=True)``;

each for fresh batches (the common case) and for batches written a second time (a
redelivery: every document is a duplicate). For reference: a plain ``insert_many``
without ``_id`` (``idempotent=False``).

No target: the figures decide the implementation (the faster way for fresh batches).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Table, median  # noqa: E402

BATCHES = 10
BATCH = 1000
ROUNDS = 3


def documents(batch: int, with_ids: bool) -> list[dict]:
    docs = [{"id": i, "name": f"item-{i}", "value": i * 0.5, "done": i % 2 == 0} for i in range(BATCH)]
    if with_ids:
        for index, doc in enumerate(docs):
            doc["_id"] = f"3f2a9c1e0b7d:{batch}:{index}"
    return docs


def insert_ignoring_duplicates(collection, docs) -> None:
    from pymongo.errors import BulkWriteError

    try:
        collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        assert all(e["code"] == 11000 for e in exc.details["writeErrors"])


def replace_upserts(collection, docs) -> None:
    from pymongo import ReplaceOne

    collection.bulk_write([ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs], ordered=False)


def plain_insert(collection, docs) -> None:
    collection.insert_many(docs)


def measure(client, name: str, write, with_ids: bool, again: bool) -> float:
    """Seconds to write the batches (a second time, if ``again``)."""
    collection = client["bench_idempotent"][name]
    collection.drop()
    batches = [documents(n, with_ids) for n in range(BATCHES)]
    if again:
        for batch in batches:
            collection.insert_many([dict(d) for d in batch])
    start = time.perf_counter()
    for batch in batches:
        write(collection, batch)
    elapsed = time.perf_counter() - start
    assert collection.count_documents({}) == BATCHES * BATCH
    return elapsed


def main() -> int:
    import pymongo
    from databay_mongo.testing import NxServer

    ways = {
        "unordered insert_many, duplicates ignored": (insert_ignoring_duplicates, True),
        "bulk_write ReplaceOne upserts": (replace_upserts, True),
        "plain insert_many, no _id (reference)": (plain_insert, False),
    }
    samples: dict[tuple[str, bool], list[float]] = {}
    with NxServer() as server, pymongo.MongoClient(server.uri) as client:
        for round_ in range(ROUNDS):
            print(f"Round {round_ + 1} of {ROUNDS} ...", flush=True)
            for label, (write, with_ids) in ways.items():
                for again in (False, True) if with_ids else (False,):
                    seconds = measure(client, f"c{round_}_{len(samples)}", write, with_ids, again)
                    samples.setdefault((label, again), []).append(seconds)
    table = Table(f"Writing {BATCHES} x {BATCH:,} documents with stable _ids into nx-27017 (docs/s, median of "
                  f"{ROUNDS})", ["way", "fresh batches", "redelivered batches"])
    for label, (_, with_ids) in ways.items():
        fresh = BATCHES * BATCH / median(samples[(label, False)])
        again = BATCHES * BATCH / median(samples[(label, True)]) if with_ids else None
        table.add_row(label, fresh, again if again else "-")
    table.print()
    insert = median(samples[("unordered insert_many, duplicates ignored", False)])
    replace = median(samples[("bulk_write ReplaceOne upserts", False)])
    print(f"fresh batches: insert-and-ignore-duplicates is {replace / insert:.2f}x the speed of replace-upserts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
