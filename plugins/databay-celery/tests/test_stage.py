"""The Redis stage keeps every guarantee of a stage backend (StageTester), plus fencing and claims."""

from __future__ import annotations

import uuid

import pytest
from databay import Link
from databay.errors import StageError
from databay.testing import CollectingOutlet, SequenceInlet, StageTester
from databay_celery.stage import RedisStage, StageFencedError


class TestRedisStage(StageTester):
    @pytest.fixture(autouse=True)
    def _redis(self, redis_url):
        """The session's Redis (conftest's ``redis_url``), for this unittest-style class."""
        self.url = redis_url

    def setUp(self) -> None:
        super().setUp()
        self.key = f"tester:{uuid.uuid4().hex[:12]}"

    def get_stage(self):
        return RedisStage(self.url, self.key)


class Numbers(SequenceInlet):
    """0, 1, 2... three at each pull; its state (kept by the stage) is the next number."""

    def __init__(self):
        super().__init__(per_pull=3, payload=lambda n: n)

    def get_state(self):
        return {"next": self.next}

    def set_state(self, state):
        self.next = state["next"]


def test_a_stale_fencing_token_writes_nothing(redis_url):
    key = f"fence:{uuid.uuid4().hex[:8]}"
    old, new = RedisStage(redis_url, key), RedisStage(redis_url, key)
    old.fence("orders", 5)
    new.fence("orders", 6)
    old.open(exclusive=True)
    new.open(exclusive=True)        # fenced: the lease is the hold, no second hold to fail on
    records = TestRedisStage.records(1, 2)
    [first] = old.commit("orders.0", [records], ["Out"])
    assert new.claim() is True       # the new holder takes over (and the stage learns its token)
    with pytest.raises(StageFencedError, match="no longer holds the lease of orders"):
        old.commit("orders.1", [records], ["Out"])
    with pytest.raises(StageFencedError):
        old.ack("Out", [first])
    assert new.pending("Out") == [first]
    new.fence("orders", None)        # between transfers: nothing written without a token
    with pytest.raises(StageError):
        new.ack("Out", [first])
    new.fence("orders", 7)
    new.ack("Out", [first])
    assert new.pending("Out") == []
    old.close()
    new.close()


def test_fences_of_other_leases_do_not_interfere(redis_url):
    key = f"fence:{uuid.uuid4().hex[:8]}"
    fill, drain = RedisStage(redis_url, key), RedisStage(redis_url, key)
    fill.fence("fill-link", 100)
    drain.fence("drain-link", 3)
    [batch] = fill.commit("fill.0", [TestRedisStage.records(1)], ["Out"])
    drain.ack("Out", [batch])
    fill.commit("fill.1", [TestRedisStage.records(2)], ["Out"])


def test_workers_taking_turns_continue_from_the_committed_position(redis_url):
    key = f"turns:{uuid.uuid4().hex[:8]}"
    outs = [CollectingOutlet(), CollectingOutlet()]
    stages = [RedisStage(redis_url, key), RedisStage(redis_url, key)]
    links = [Link(Numbers(), out, 1, stage=stage) for out, stage in zip(outs, stages)]
    for token, turn in enumerate([0, 1, 1, 0, 1, 0, 0], start=1):
        for stage in stages:
            stage.fence("turns", None)
        stages[turn].fence("turns", token)   # what a worker does under the link's lease
        links[turn].transfer()
    assert sorted(outs[0].payloads + outs[1].payloads) == list(range(21))
    for link in links:
        link.on_shutdown()


def test_the_location_hides_the_password(redis_url):
    stage = RedisStage("redis://:s3cr3t-pass@127.0.0.1:1/0", "x")
    assert "s3cr3t" not in stage.location and "s3cr3t" not in repr(stage)
    with pytest.raises(StageError) as raised:
        stage.open()
    assert "s3cr3t" not in str(raised.value)


def test_keys_are_checked():
    with pytest.raises(ValueError, match="letters, digits"):
        RedisStage("redis://127.0.0.1/0", "has space")


def test_the_hold_of_a_process_that_died_is_released(redis_url, tmp_path):
    import subprocess
    import sys

    key = f"dead:{uuid.uuid4().hex[:8]}"
    code = ("import os, sys; from databay_celery.stage import RedisStage; "
            "RedisStage(sys.argv[1], sys.argv[2]).open(exclusive=True); os._exit(0)")
    subprocess.run([sys.executable, "-c", code, redis_url, key], check=True)  # dies holding the stage
    stage = RedisStage(redis_url, key)
    stage.open(exclusive=True)   # taken over at once, not after the hold's expiry
    assert stage.is_open
    stage.close()
