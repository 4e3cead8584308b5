"""A scheduler and workers as separate processes (the installed CLI) on a real redis-server:
slots sent once, a standby scheduler taking over, a killed worker's transfer run again,
never two transfers of a link at once, Celery events and remote control."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from cluster_run import Cluster, Events, celery_pipeline, wait_for
from databay_celery.cluster import SENT

INFLIGHT_SECONDS = 10


def marked_link(path, tag: str = "marked", seconds: float = 0, **schedule: str) -> str:
    """A link of random numbers into a ``parts:Marker`` writing to ``path`` (each push ``seconds``
    long), due by ``schedule``: ``interval="500ms"``, or ``schedule=...``/``cron=...`` with a ``timezone``."""
    due = "".join(f'{key} = "{value}"\n' for key, value in schedule.items())
    return f"""
[[links]]
tags = ["{tag}"]
{due}inlets = [{{ use = "random_int" }}]
outlets = [{{ use = "parts:Marker", path = "{path}", seconds = {seconds} }}]
"""


def marks(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def cluster_factory(tmp_path, redis_url, namespace):
    made: list[Cluster] = []

    def make(links: str, inflight: float = INFLIGHT_SECONDS) -> Cluster:
        cluster = Cluster(tmp_path, celery_pipeline(namespace, links, inflight), redis_url, namespace)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


def test_slots_go_out_once_and_a_standby_takes_over(cluster_factory, tmp_path, redis_url):
    out = tmp_path / "marks.jsonl"
    cluster = cluster_factory(marked_link(out, interval="500ms"))
    with Events(redis_url) as events:
        for _ in range(2):
            cluster.start_worker()
        first, second = cluster.start_scheduler(), cluster.start_scheduler()
        leader = cluster.wait_for_leader()
        time.sleep(3)
        (killed,) = [p for p in (first, second) if p.pid == leader]
        cluster.kill(killed)
        died = time.monotonic()
        [(link_id, recorded)] = cluster.redis.hgetall(cluster.prefix + "slots").items()  # the last slot handled
        blocking = cluster.redis.get(cluster.prefix + "inflight:" + link_id.decode())  # the link's in-flight slot
        new_leader = cluster.wait_for_leader(other_than=leader)
        takeover = time.monotonic() - died
        sent_before = len(events.received_slots())
        time.sleep(3)
        if blocking == recorded and float(recorded) not in {due for _, due in events.received_slots().values()}:
            # The known window (docs/scale-out.md, failure modes): the leader was killed after
            # recording this slot and before sending it, so the link's in-flight mark skips its
            # slots until the mark expires, INFLIGHT_SECONDS after it was set. Wait that out
            # (test_a_slot_recorded_but_never_sent_idles_its_link_until_inflight_seconds pins it).
            time.sleep(max(0.0, died + INFLIGHT_SECONDS + 3 - time.monotonic()))
        slots = list(events.received_slots().values())
        succeeded = events.of("task-succeeded")
    assert takeover < 2 + 0.3 + 3, f"the standby took {takeover:.1f}s to lead"
    assert new_leader != leader
    assert len(slots) > sent_before + 2, "the new leader sends the link's slots"
    assert len(set(slots)) == len(slots), f"a slot was sent twice: {sorted(slots)}\n{cluster.logs()}"
    dues = sorted(due for _, due in slots)
    gaps = [b - a for a, b in zip(dues, dues[1:])]
    assert all(abs(gap / 0.5 - round(gap / 0.5)) < 1e-6 for gap in gaps), "slots stay on the link's grid"
    assert succeeded and json.loads(succeeded[-1]["result"].replace("'", '"'))["outcome"] == "transferred"
    assert len(marks(out)) >= len(slots) - 2


def test_a_slot_recorded_but_never_sent_idles_its_link_until_inflight_seconds(cluster_factory, tmp_path, redis_url,
                                                                                monkeypatch):
    """A leader killed between recording a slot and sending its task (a window of microseconds,
    reproduced here by recording the slot without sending it): the link's in-flight mark keeps
    its slots skipped until inflight_seconds pass, then they go out again (docs/scale-out.md)."""
    from databay import load_pipeline
    from databay_celery.cluster import Coordinator

    inflight = 5
    cluster = cluster_factory(marked_link("/dev/null", interval="500ms"), inflight=inflight)
    monkeypatch.setenv("REDIS_URL", redis_url)
    pipeline = load_pipeline(cluster.pipeline)
    [link] = pipeline.links
    coordinator = Coordinator(pipeline.planner.settings)
    dying = "gone pid 0 deadbeef"  # a leader token as a scheduler's (host, pid, random part)
    lock = coordinator.redis.lock(coordinator.leader_key, timeout=2, thread_local=False)
    assert lock.acquire(blocking=False, token=dying)
    slot = time.time()
    assert coordinator.dispatch(dying, [(link.identity, repr(slot))]) == [SENT]
    recorded = time.monotonic()  # its task is never sent; its lock expires as a dead leader's does
    with Events(redis_url) as events:
        cluster.start_worker()
        cluster.start_scheduler()
        cluster.wait_for_leader(other_than=0)
        while time.monotonic() < recorded + inflight - 0.5:
            assert not events.received_slots(), "a slot went out while the in-flight mark held the link"
            time.sleep(0.1)
        deadline = recorded + inflight + 10
        while time.monotonic() < deadline and len(events.received_slots()) < 3:
            time.sleep(0.1)
        dues = sorted(due for _, due in events.received_slots().values())
    assert len(dues) >= 3, f"the link's slots did not go out again after inflight_seconds:\n{cluster.logs()}"
    assert dues[0] >= slot + inflight / 2, "the first slot sent is one due well after the mark was set"
    assert cluster.counts("skipped").get(link.identity, 0) >= 1
    coordinator.redis.close()


def test_celery_remote_control_sees_the_workers(cluster_factory, redis_url):
    cluster = cluster_factory(marked_link("/dev/null", interval="1s"))
    cluster.start_worker(concurrency=2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        result = subprocess.run([sys.executable, "-m", "celery", "-b", redis_url, "inspect", "ping", "-t", "2"],
                                capture_output=True, text=True)
        if "pong" in result.stdout:
            break
        time.sleep(0.5)
    assert "pong" in result.stdout, result.stdout + result.stderr
    assert f"databay-{cluster.name}-" in result.stdout
    stats = subprocess.run([sys.executable, "-m", "celery", "-b", redis_url, "inspect", "active_queues", "-t", "2"],
                           capture_output=True, text=True).stdout
    assert f"databay.{cluster.name}" in stats


def test_a_transfer_interrupted_by_sigkill_runs_again(cluster_factory, tmp_path):
    out = tmp_path / "marks.jsonl"
    cluster = cluster_factory(marked_link(out, seconds=2, interval="1h"))
    workers = [cluster.start_worker(), cluster.start_worker()]
    cluster.start_scheduler()
    wait_for(lambda: marks(out))
    (started,) = marks(out)
    (victim,) = [w for w in workers if w.pid == started["pid"]]
    cluster.kill(victim)
    killed = time.monotonic()
    wait_for(lambda: any(m["event"] == "end" for m in marks(out)), timeout=30)
    ends = [m for m in marks(out) if m["event"] == "end"]
    assert ends, f"the interrupted transfer did not run again:\n{cluster.logs()}"
    assert ends[0]["pid"] != victim.pid
    assert time.monotonic() - killed < 4 + 10 + 2, "within the visibility timeout and a restore round"


def test_a_links_transfers_never_overlap_across_workers(cluster_factory, tmp_path):
    paths = [tmp_path / f"slow{index}.jsonl" for index in range(3)]
    links = "".join(f"""
[[links]]
tags = ["slow{index}"]
interval = "300ms"
inlets = [{{ use = "random_int" }}]
outlets = [{{ use = "parts:Slow", path = "{path}", seconds = 0.8 }}]
""" for index, path in enumerate(paths))
    cluster = cluster_factory(links)
    for _ in range(3):
        cluster.start_worker()
    cluster.start_scheduler()
    time.sleep(8)
    cluster.stop()
    skipped = cluster.counts("skipped")
    for path in paths:
        runs = sorted((json.loads(line) for line in path.read_text().splitlines()), key=lambda r: r["start"])
        assert len(runs) >= 3, f"{path.name}: {len(runs)} transfers\n{cluster.logs()}"
        for before, after in zip(runs, runs[1:]):
            assert after["start"] >= before["end"], f"{path.name}: two transfers at once: {before} {after}"
    assert len(skipped) == 3 and all(count >= 3 for count in skipped.values()), skipped


def test_workers_report_through_observers_and_celery_events(cluster_factory, tmp_path, redis_url):
    told = tmp_path / "told.jsonl"
    links = f"""
[[notifiers]]
use = "parts:FileNotifier"
path = "{told}"
events = ["finished", "failed"]
max_messages = 1000

[[links]]
tags = ["fine"]
interval = "500ms"
inlets = [{{ use = "random_int" }}]
outlets = ["null"]

[[links]]
tags = ["broken"]
interval = "500ms"
inlets = [{{ use = "random_int" }}]
outlets = [{{ use = "parts:Broken" }}]
"""
    cluster = cluster_factory(links)
    with Events(redis_url) as events:
        worker = cluster.start_worker()
        cluster.start_scheduler()
        time.sleep(4)
        failed = events.of("task-failed")
        succeeded = events.of("task-succeeded")
    cluster.stop()
    notes = [json.loads(line) for line in told.read_text().splitlines()]
    assert {("fine", "finished"), ("broken", "failed")} <= {(n["link"], n["kind"]) for n in notes}, notes
    assert {n["pid"] for n in notes} == {worker.pid}
    assert failed and "the warehouse is down" in failed[0]["exception"]
    assert any("'records_pulled': 1" in event["result"] for event in succeeded)
    assert worker.returncode == 0, cluster.logs()


def test_calendar_links_run_on_their_calendar_times(cluster_factory, tmp_path, redis_url):
    out = tmp_path / "marks.jsonl"
    cluster = cluster_factory(marked_link(out, "ticks", schedule="every 2 seconds", timezone="Asia/Kolkata"))
    with Events(redis_url) as events:
        cluster.start_worker()
        cluster.start_scheduler()
        wait_for(lambda: len(marks(out)) >= 8)
        slots = sorted(due for _, due in events.received_slots().values())
    assert len(slots) >= 4, cluster.logs()
    calendar = slots[1:]  # the first: the immediate transfer as the scheduler started
    assert all(due == int(due) and int(due) % 2 == 0 for due in calendar), calendar  # :00, :02, ... of each minute
    assert all(b - a == 2 for a, b in zip(calendar, calendar[1:])), calendar
    assert sum(m["event"] == "end" for m in marks(out)) >= 3


def test_cron_links_run_on_the_workers(cluster_factory, tmp_path, redis_url):
    pytest.importorskip("databay_aps", reason="cron schedules with the celery planner need databay-aps")
    out = tmp_path / "marks.jsonl"
    cluster = cluster_factory(marked_link(out, "yearly", cron="0 0 1 1 *", timezone="Europe/Amsterdam"))
    with Events(redis_url) as events:
        worker = cluster.start_worker()
        cluster.start_scheduler()
        wait_for(lambda: any(m["event"] == "end" for m in marks(out)))
        time.sleep(1)
        slots = list(events.received_slots().values())
    cluster.stop()
    assert [m["event"] for m in marks(out)] == ["start", "end"], cluster.logs()  # the immediate transfer, once
    assert len(slots) == 1 and abs(slots[0][1] - time.time()) < 60
    assert worker.returncode == 0, cluster.logs()
