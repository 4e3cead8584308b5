"""S3Outlet and S3Inlet on staged links: a redelivered batch overwrites its objects (keys made
of the batch's stable id and of its commit's time and transfer, ``Stage.BATCH_TIME`` and
``Stage.BATCH_UPDATE``), the inlet's position is committed with its records."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from databay import Link, RetryPolicy
from databay.stage import SqliteStage, Stage
from databay.support.buffers import Buffer
from databay.testing import CollectingOutlet, LosesTheAnswer, SequenceInlet
from databay_s3 import S3Inlet, S3Outlet


class LosingS3Outlet(LosesTheAnswer, S3Outlet):
    """Writes, then fails as if the connection dropped before the server's answer arrived."""


def numbers_in(bucket, prefix: str = "") -> list[list[int]]:
    """The numbers of each object under ``prefix``, in key order."""
    return [[json.loads(line)["n"] for line in bucket.read(key).splitlines()] for key in bucket.keys(prefix)]


def requests_of(outlet: S3Outlet) -> Counter:
    """The S3 operations ``outlet`` sends from now on, counted by name (boto3's events)."""
    sent: Counter = Counter()
    outlet.endpoint.client().meta.events.register(
        "before-call.s3", lambda model, **_: sent.update([model.name]))
    return sent


@pytest.mark.parametrize("key", [
    "{tags}/{time:%Y/%m/%d/%H%M%S.%f}-{uuid}.{ext}",  # the default
    "{tags}/{update}/{time:%H%M%S.%f}.{ext}",          # no {uuid}: the transfer and the time alone
    "{tags}/{uuid}.{ext}",
])
def test_a_redelivered_batch_overwrites_its_object(endpoint, bucket, tmp_path, key):
    outlet = LosingS3Outlet(bucket.name, key, endpoint_url=endpoint)
    sent = requests_of(outlet)
    link = Link(SequenceInlet(), outlet, interval=1, stage=tmp_path / "s.stage", ignore_exceptions=True, tags=["n"])
    link.transfer()  # written, but the outlet failed: the batch stays pending
    assert [b.batches for b in link.stage.backlog()] == [1]
    [first_key] = bucket.keys()
    link.transfer()  # batch 1 again (the same key), then batch 2
    assert sorted(numbers_in(bucket)) == [[0, 1, 2], [3, 4, 5]]
    assert first_key in bucket.keys()
    link.transfer()
    link.on_shutdown()
    assert sorted(numbers_in(bucket)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert link.stage.backlog() == []
    assert sent == {"PutObject": 4}, "one request per delivery of a batch, nothing else"


def test_the_key_is_made_of_the_batch_commit(endpoint, bucket, tmp_path):
    """``{time}`` and ``{update}`` are those the stage stamped on the batch's records."""
    outlet = LosingS3Outlet(bucket.name, "{update}/{time:%Y%m%dT%H%M%S.%f}.{ext}", endpoint_url=endpoint)
    link = Link(SequenceInlet(), outlet, interval=1, stage=tmp_path / "s.stage", ignore_exceptions=True, tags=["n"])
    link.transfer()
    [record, *_] = link.stage.read(1)
    link.on_shutdown()
    committed = record.metadata[Stage.BATCH_TIME]
    assert bucket.keys() == [f"n.0/{committed:%Y%m%dT%H%M%S.%f}.jsonl"]


def test_a_batch_redelivered_by_another_process_keeps_its_key(endpoint, bucket, tmp_path):
    stage = tmp_path / "s.stage"
    template = "{tags}/{update}/{time:%H%M%S.%f}-{uuid}.{ext}"
    link = Link(SequenceInlet(), LosingS3Outlet(bucket.name, template, endpoint_url=endpoint, losses=5), interval=1,
                stage=stage, ignore_exceptions=True, tags=["n"])
    link.transfer()
    link.transfer()  # batch 1 again (failing again), then batch 2 waits behind it
    link.on_shutdown()
    [first_key] = bucket.keys("n/")
    assert first_key.startswith("n/n.0/")
    # A new process: a new outlet (nothing in memory), transfers numbered from 0 again.
    restarted = Link(SequenceInlet(), LosingS3Outlet(bucket.name, template, endpoint_url=endpoint, losses=0), interval=1,
                     stage=stage, tags=["n"])
    restarted.transfer()  # batches 1 and 2 of the first process, then its own batch 3
    restarted.on_shutdown()
    data = bucket.keys("n/")
    assert data[0] == first_key and len(data) == 3
    # In key order: batch 1 (the first process's transfer 0), batch 3 (the new process's
    # transfer 0, its inlet counting from 0 again), batch 2 (the first process's transfer 1).
    assert [key.split("/")[1] for key in data] == ["n.0", "n.0", "n.1"]
    assert numbers_in(bucket, "n/") == [[0, 1, 2], [0, 1, 2], [3, 4, 5]]


def test_a_replayed_dead_letter_overwrites_its_object(endpoint, bucket, tmp_path):
    outlet = LosingS3Outlet(bucket.name, endpoint_url=endpoint)
    link = Link(SequenceInlet(), outlet, interval=1, stage=tmp_path / "s.stage", tags=["n"],
                retry=RetryPolicy(attempts=1))
    link.transfer()  # written, then the outlet failed: dead-lettered
    [first_key] = bucket.keys()
    with SqliteStage(tmp_path / "s.stage") as operator:  # databay stage --replay, days later
        assert operator.replay() == 1
    link.transfer()
    link.on_shutdown()
    assert first_key in bucket.keys()
    assert numbers_in(bucket) == [[0, 1, 2], [3, 4, 5]]


def test_records_of_several_batches_in_one_push_go_to_one_object_per_batch(endpoint, bucket, tmp_path):
    outlet = LosingS3Outlet(bucket.name, endpoint_url=endpoint, processors=Buffer(count_threshold=5))  # released past 5 records
    link = Link(SequenceInlet(), outlet, interval=1, stage=tmp_path / "s.stage", ignore_exceptions=True, tags=["n"])
    link.transfer()  # held by the buffer
    assert numbers_in(bucket) == []
    link.transfer()  # released: batches 1 and 2, written, then the outlet fails
    assert sorted(numbers_in(bucket)) == [[0, 1, 2], [3, 4, 5]]  # keys of one push: any order
    link.transfer()  # batches 1 and 2 again, then batch 3 (held)
    link.on_shutdown()
    assert sorted(numbers_in(bucket)) == [[0, 1, 2], [3, 4, 5]]  # keys of one push: any order


def test_grouped_records_keep_stable_keys(endpoint, bucket, tmp_path):
    def by_parity(records):
        for record in records:
            record.metadata[S3Outlet.S3_KEY] = ("even" if record.payload["n"] % 2 == 0 else "odd") + \
                "/{time:%Y%m%d%H%M%S%f}-{uuid}.{ext}"
        return records

    outlet = LosingS3Outlet(bucket.name, endpoint_url=endpoint)
    link = Link(SequenceInlet(4), outlet, interval=1, stage=tmp_path / "s.stage", ignore_exceptions=True,
                processors=by_parity)
    link.transfer()
    link.transfer()
    link.on_shutdown()
    assert numbers_in(bucket, "even/") == [[0, 2], [4, 6]]
    assert numbers_in(bucket, "odd/") == [[1, 3], [5, 7]]


def test_the_inlet_position_is_committed_with_its_records(endpoint, bucket, tmp_path):
    for n in range(3):
        bucket.put(f"in/{n}", b'{"n": %d}\n' % n)
    stage = tmp_path / "s.stage"
    keep = CollectingOutlet()
    link = Link(S3Inlet(bucket.name, "in/", endpoint_url=endpoint), keep, interval=1, stage=stage)
    link.transfer()
    link.on_shutdown()
    assert Stage(stage).open().inlet_states() == {"S3Inlet": {"after": "in/2"}}
    for n in range(3, 5):
        bucket.put(f"in/{n}", b'{"n": %d}\n' % n)
    keep2 = CollectingOutlet()
    link2 = Link(S3Inlet(bucket.name, "in/", endpoint_url=endpoint), keep2, interval=1, stage=stage)
    link2.transfer()
    link2.on_shutdown()
    assert [r.payload["n"] for r in keep.records] == [0, 1, 2]
    assert [r.payload["n"] for r in keep2.records] == [3, 4]


def test_objects_pulled_but_never_committed_are_read_again(endpoint, bucket, tmp_path):
    bucket.put("in/0", b"0\n")
    stage = tmp_path / "s.stage"
    link = Link(S3Inlet(bucket.name, "in/", endpoint_url=endpoint), CollectingOutlet(), interval=1, stage=stage)
    link.transfer()
    link.on_shutdown()
    bucket.put("in/1", b"1\n")
    lost = S3Inlet(bucket.name, "in/", endpoint_url=endpoint, start_after="in/0")
    assert [r.payload for r in lost.pull(None)] == [1]  # "crash": pulled, never committed
    keep = CollectingOutlet()
    restarted = Link(S3Inlet(bucket.name, "in/", endpoint_url=endpoint), keep, interval=1, stage=stage)
    restarted.transfer()
    restarted.on_shutdown()
    assert [r.payload for r in keep.records] == [1]
