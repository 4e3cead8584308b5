"""S3Outlet: 20,000 records written in pushes of 1,000 (one object each), against moto.

Side by side in one run, against the same moto server (``moto.server`` started by this
script as a subprocess on a free loopback port), rounds interleaved:

- the limit: raw boto3, per batch ``json.dumps`` of each dict joined into JSON lines, then
  one ``put_object`` with a fresh key (the same bytes S3Outlet writes);
- databay: ``S3Outlet.push`` of 1,000 records per push (default key template);
- for information: ``S3Outlet.push`` of records from a staged batch, stamped as a stage
  stamps them (``Stage.BATCH_ID``, ``RECORD_ID``, ``BATCH_TIME``, ``BATCH_UPDATE``): the
  default key then comes from the batch's id and commit time, the same at every delivery,
  still one ``put_object`` per batch; and one 24 MiB object written by ``put_object`` and by
  ``S3Outlet`` (a multipart upload, 3 parts at once).

databay 0.3.0 had no S3 outlet: there is no 0.3.0 row. Measured: throughput (records per
second, wall clock) and client CPU (this process's ``time.process_time()``; the server runs
in its own process). Records and documents are built before the clock starts.

Target: S3Outlet at least 0.9x raw ``put_object`` throughput.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import median, throughput_table, timed_pushes, verdict  # noqa: E402

RECORDS = 20_000
BATCH = 1_000
ROUNDS = 5
LARGE_BYTES = 24 * 2**20
THROUGHPUT_TARGET = 0.9


def make_documents(start: int) -> list[dict]:
    return [{"id": i, "name": f"item-{i}", "value": i * 0.5, "done": i % 2 == 0}
            for i in range(start, start + BATCH)]


def measure_raw(client, bucket: str) -> tuple[float, float]:
    batches = [make_documents(n) for n in range(0, RECORDS, BATCH)]
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    wall, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        body = ("\n".join(map(dumps, batch)) + "\n").encode()
        client.put_object(Bucket=bucket, Key=f"raw/{uuid.uuid4().hex}.jsonl", Body=body,
                          ContentType="application/x-ndjson")
    return time.perf_counter() - wall, time.process_time() - cpu


def measure_databay(outlet, staged: bool = False) -> tuple[float, float]:
    from databay import Record
    from databay.stage import Stage

    pushes = []
    for number, start in enumerate(range(0, RECORDS, BATCH), start=1):
        records = [Record(d) for d in make_documents(start)]
        if staged:  # as a stage stamps a batch's records (Stage.stamp)
            batch_id = f"bench{os.getpid()}{time.monotonic_ns()}:{number}"
            committed = datetime.datetime.now(datetime.UTC)
            for index, record in enumerate(records):
                record.metadata.update({Stage.BATCH_ID: batch_id, Stage.RECORD_ID: f"{batch_id}:{index}",
                                        Stage.BATCH_TIME: committed, Stage.BATCH_UPDATE: f"bench.{number}"})
        pushes.append(records)
    return timed_pushes(outlet, pushes)


def measure_large(client, outlet, bucket: str) -> tuple[float, float]:
    """Seconds to write one LARGE_BYTES object with put_object, and with S3Outlet (multipart)."""
    from databay import Record, Update

    line = {"text": "x" * 1000}
    records = [Record(line) for _ in range(LARGE_BYTES // 1013)]
    body = ("\n".join(json.dumps(r.payload, separators=(",", ":")) for r in records) + "\n").encode()
    start = time.perf_counter()
    client.put_object(Bucket=bucket, Key="large/raw.jsonl", Body=io.BytesIO(body))
    raw = time.perf_counter() - start
    start = time.perf_counter()
    outlet.push(records, Update(["large"], 0))
    return raw, time.perf_counter() - start


def count(client, bucket: str, prefix: str) -> int:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sum(len(page.get("Contents", [])) for page in pages)


def main() -> int:
    import boto3
    from databay_s3 import S3Outlet
    from databay_s3.testing import TEST_CREDENTIALS, MotoServer

    os.environ.update(TEST_CREDENTIALS)
    with MotoServer() as server:
        client = boto3.client("s3", endpoint_url=server.endpoint_url)
        bucket = "bench"
        client.create_bucket(Bucket=bucket)
        outlet = S3Outlet(bucket, endpoint_url=server.endpoint_url)
        outlet.try_start()
        measure_raw(client, bucket)  # warm-up: connections, the server's first requests
        measure_databay(outlet)
        results: dict[str, list[tuple[float, float]]] = {"raw": [], "databay": [], "staged": []}
        for _ in range(ROUNDS):  # interleaved, so that drift of the machine or the server hits everyone alike
            results["raw"].append(measure_raw(client, bucket))
            results["databay"].append(measure_databay(outlet))
            results["staged"].append(measure_databay(outlet, staged=True))
        assert count(client, bucket, "raw/") == (ROUNDS + 1) * RECORDS // BATCH
        assert count(client, bucket, "bench/") == (2 * ROUNDS + 1) * RECORDS // BATCH
        large = [measure_large(client, outlet, bucket) for _ in range(3)]
        outlet.try_shutdown()
        client.close()

    labels = {"raw": "raw boto3 put_object (limit)", "databay": "databay S3Outlet.push",
              "staged": "databay S3Outlet.push, staged batches"}
    rate, _ = throughput_table(f"S3Outlet: {RECORDS:,} records in pushes of {BATCH:,} (one object each) against "
                               f"moto (median of {ROUNDS})", "records", RECORDS, labels, results)
    raw_large, outlet_large = median(r for r, _ in large), median(o for _, o in large)
    print(f"One {LARGE_BYTES // 2**20} MiB object (median of 3): put_object {raw_large:.2f} s, S3Outlet "
          f"(multipart, 8 MiB parts) {outlet_large:.2f} s ({raw_large / outlet_large:.2f}x put_object's speed)")
    ok = verdict("s3 throughput, databay / raw", rate["databay"] / rate["raw"], THROUGHPUT_TARGET)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
