"""The scheduler sends each link's slots on the instants the local planners use: calendar
links (daylight saving time included), cron links (databay-aps's ``Cron``) and interval
links, as ``databay schedule PIPELINE`` lists them.

The scheduler runs in this process on a real Redis under a fake clock
(:class:`databay.testing.FakeClock`): the test moves the clock to just before each next
slot instead of waiting for it, and plays the worker's part by ending each task
(``Coordinator.finish``), so that every slot is sent as a Celery task. The tasks are read
back from the Redis queue as Celery wrote them.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest
from cluster_run import DATABAY
from databay import load_pipeline
from databay.pipeline import PipelineError
from databay.schedules import due_times, schedule_of
from databay.testing import FakeClock
from databay_celery.cluster import Coordinator

PLANNER = """
[planner]
use = "celery"
broker = "${{REDIS_URL}}"
name = "{name}"
leader_seconds = 1.5
poll_seconds = 0.1
immediate_transfer = {immediate}
"""
LINK = """
[[links]]
tags = ["{tag}"]
{when}
inlets = ["null"]
outlets = ["null"]
"""


def pipeline_text(name: str, links: dict[str, str], immediate: bool = False) -> str:
    return PLANNER.format(name=name, immediate=str(immediate).lower()) + "".join(
        LINK.format(tag=tag, when=when) for tag, when in links.items())


def iso(seconds: float, zone: str) -> str:
    from zoneinfo import ZoneInfo

    return datetime.datetime.fromtimestamp(seconds, ZoneInfo(zone)).isoformat()


class Scheduling:
    """A pipeline's Celery planner leading under a fake clock, stepped from slot to slot."""

    def __init__(self, pipeline, clock: FakeClock, wait_until):
        self.pipeline, self.clock, self.wait_until = pipeline, clock, wait_until
        self.planner = pipeline.planner
        self.coordinator = Coordinator(self.planner.settings)

    def wait(self, condition) -> bool:
        """Whether ``condition()`` comes true within 20 s."""
        return self.wait_until(condition, timeout=20, every=0.02)

    def next_slots(self) -> dict[str, float]:
        """``{link identity: its next slot}`` as the planner tells (links whose schedule ended left out)."""
        slots = {}
        for link in self.pipeline.links:
            due = self.planner.next_due_at(link)
            if due is not None:
                slots[link.identity] = due.timestamp()
        return slots

    def step(self) -> float:
        """Move the clock to just before the earliest next slot, wait until the scheduler
        handled it, and end the tasks sent (a worker's part); returns that slot."""
        self.end_tasks()
        before = self.next_slots()
        slot = min(before.values())
        self.clock.set(slot - 0.05)
        assert self.wait(lambda: all(self.next_slots().get(identity, slot + 1) > slot
                                     for identity, due in before.items() if due == slot)), \
            f"the slot {slot} was not handled"
        self.end_tasks()
        return slot

    def end_tasks(self) -> None:
        """End each link's task sent last, as a worker does, so that its next slot is sent too."""
        sent = self.coordinator.redis.hgetall(self.coordinator.prefix + "sent")
        for identity, slot in sent.items():
            self.coordinator.finish(identity.decode(), slot.decode(), None, None)

    def sent_tasks(self) -> list[tuple[str, float]]:
        """``(link, due)`` of every task in the pipeline's Celery queue, in the order sent."""
        raw = self.coordinator.redis.lrange(self.planner.settings.queue, 0, -1)
        tasks = []
        for message in reversed(raw):  # kombu pushes each message to the list's head
            envelope = json.loads(message)
            assert envelope["headers"]["task"] == "databay.transfer"
            args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
            tasks.append((args[0], args[1]))
        return tasks


@pytest.fixture
def scheduling(redis_url, wait_until):
    """``with scheduling(text, start) as run``: the pipeline ``text``'s planner leading on the
    session's Redis under a fake clock set to ``start``, until the block ends."""

    @contextmanager
    def lead(text: str, start: datetime.datetime):
        pipeline = load_pipeline(text, environ={"REDIS_URL": redis_url})
        planner = pipeline.planner
        planner.clock = FakeClock(start)
        run = Scheduling(pipeline, planner.clock, wait_until)
        thread = threading.Thread(target=planner.start, daemon=True)
        thread.start()
        try:
            assert run.wait(lambda: planner.scheduler is not None and planner.scheduler.leading
                            and len(run.next_slots()) == len(pipeline.links))
            yield run
        finally:
            planner.shutdown()
            thread.join(15)
            assert not thread.is_alive()

    return lead


def slots_of(tasks: list[tuple[str, float]], link) -> list[float]:
    return [due for identity, due in tasks if identity == link.identity]


AMS = "Europe/Amsterdam"
SPRING = datetime.datetime.fromisoformat("2024-03-29T12:00:00+01:00")  # clocks go forward on the 31st at 02:00
AUTUMN = datetime.datetime.fromisoformat("2024-10-27T01:40:00+02:00")  # back at 03:00 (02:00-03:00 twice)
DAILY = f'schedule = "every day at 02:30"\ntimezone = "{AMS}"'
HALVES = f'schedule = "every 30 minutes"\ntimezone = "{AMS}"'


def stepped(run: Scheduling, link, count: int) -> list[str]:
    """The first ``count`` slots sent for ``link``, stepping the clock from slot to slot."""
    while len(slots_of(run.sent_tasks(), link)) < count:
        run.step()
    return [iso(due, AMS) for due in slots_of(run.sent_tasks(), link)[:count]]


def test_a_daily_time_the_clocks_skip_is_sent_right_after_the_gap(scheduling, namespace):
    with scheduling(pipeline_text(namespace, {"daily": DAILY}), SPRING) as run:
        (daily,) = run.pipeline.links
        assert stepped(run, daily, 3) == [
            "2024-03-30T02:30:00+01:00",
            "2024-03-31T03:00:00+02:00",  # 02:30 does not exist that day: right after the gap
            "2024-04-01T02:30:00+02:00",
        ]
        # the very instants of the local planners' schedule objects
        assert slots_of(run.sent_tasks(), daily)[:3] == due_times(schedule_of(daily), SPRING.timestamp(), 3)


def test_a_repetition_skips_the_hour_the_clocks_skip(scheduling, namespace):
    start = datetime.datetime.fromisoformat("2024-03-31T00:50:00+01:00")
    with scheduling(pipeline_text(namespace, {"halves": HALVES}), start) as run:
        (halves,) = run.pipeline.links
        assert stepped(run, halves, 4) == ["2024-03-31T01:00:00+01:00", "2024-03-31T01:30:00+01:00",
                                           "2024-03-31T03:00:00+02:00", "2024-03-31T03:30:00+02:00"]


def test_when_clocks_go_back_a_time_of_day_runs_once_and_a_repetition_twice(scheduling, namespace):
    with scheduling(pipeline_text(namespace, {"daily": DAILY, "halves": HALVES}), AUTUMN) as run:
        daily, halves = run.pipeline.links
        assert stepped(run, halves, 6) == [
            "2024-10-27T02:00:00+02:00", "2024-10-27T02:30:00+02:00",
            "2024-10-27T02:00:00+01:00", "2024-10-27T02:30:00+01:00",  # the hour that comes twice: both passes
            "2024-10-27T03:00:00+01:00", "2024-10-27T03:30:00+01:00",
        ]
        assert [iso(due, AMS) for due in slots_of(run.sent_tasks(), daily)] == ["2024-10-27T02:30:00+02:00"]
        assert run.planner.next_due_at(daily) == datetime.datetime.fromisoformat("2024-10-28T02:30:00+01:00")


def test_cron_links_are_sent_on_their_cron_times(scheduling, namespace):
    pytest.importorskip("databay_aps", reason="cron schedules with the celery planner need databay-aps")
    links = {"nightly": f'cron = "30 2 * * *"\ntimezone = "{AMS}"',
             "weekdays": f'cron = "0 0 * * 1-5"\ntimezone = "{AMS}"\nend_date = "2024-04-03T12:00"'}
    with scheduling(pipeline_text(namespace, links), SPRING) as run:
        nightly, weekdays = run.pipeline.links
        while run.next_slots().get(weekdays.identity) is not None:
            run.step()
        assert run.planner.next_due_at(weekdays) is None  # its end_date passed: no more slots
        assert run.planner.next_due_at(nightly) is not None
        tasks = run.sent_tasks()
    assert [iso(due, AMS) for due in slots_of(tasks, nightly)][:3] == [
        "2024-03-30T02:30:00+01:00", "2024-03-31T03:00:00+02:00", "2024-04-01T02:30:00+02:00"]
    assert [iso(due, AMS) for due in slots_of(tasks, weekdays)] == [
        "2024-04-01T00:00:00+02:00", "2024-04-02T00:00:00+02:00", "2024-04-03T00:00:00+02:00"]


def test_databay_schedule_lists_the_slots_the_scheduler_sends(scheduling, redis_url, namespace, tmp_path):
    text = pipeline_text(namespace, {"daily": DAILY, "often": 'interval = "20h"'})
    path = tmp_path / "pipeline.toml"
    path.write_text(text)
    listed = subprocess.run([DATABAY, "schedule", str(path), "--json", "--next", "4", "--from", SPRING.isoformat()],
                            capture_output=True, text=True, env={**os.environ, "REDIS_URL": redis_url})
    assert listed.returncode == 0, listed.stderr
    daily_listed, often_listed = (
        [datetime.datetime.fromisoformat(due).timestamp() for due in link["due"]]
        for link in json.loads(listed.stdout)["links"])
    with scheduling(text, SPRING) as run:
        daily, often = run.pipeline.links
        while min(len(slots_of(run.sent_tasks(), link)) for link in run.pipeline.links) < 4:
            run.step()
        tasks = run.sent_tasks()
    assert slots_of(tasks, daily)[:4] == daily_listed
    # an interval's grid starts when the scheduler does: a moment after the fake clock's start
    assert all(0 <= sent - listed < 2 for sent, listed in zip(slots_of(tasks, often)[:4], often_listed))


def test_an_immediate_transfer_then_the_calendar(scheduling, namespace):
    with scheduling(pipeline_text(namespace, {"daily": DAILY}, immediate=True), SPRING) as run:
        (daily,) = run.pipeline.links
        assert run.wait(lambda: run.sent_tasks())
        assert abs(run.sent_tasks()[0][1] - SPRING.timestamp()) < 5  # sent as it started leading
        assert stepped(run, daily, 2)[1:] == ["2024-03-30T02:30:00+01:00"]


def test_a_slot_due_while_the_previous_task_is_queued_is_skipped_and_counted(scheduling, namespace):
    with scheduling(pipeline_text(namespace, {"halves": HALVES}), SPRING) as run:
        (halves,) = run.pipeline.links
        first = run.next_slots()[halves.identity]
        run.clock.set(first - 0.05)
        assert run.wait(lambda: len(run.sent_tasks()) == 1)
        second = run.next_slots()[halves.identity]
        assert second == first + 1800
        run.clock.set(second - 0.05)  # no worker ended the first task: it is still queued
        assert run.wait(lambda: run.planner.skipped_transfers(halves) == 1)
        assert run.sent_tasks() == [(halves.identity, first)]  # never queued behind it
        assert run.next_slots()[halves.identity] == second + 1800


def test_cron_with_jitter_or_without_databay_aps_is_refused_at_its_place(monkeypatch):
    text = pipeline_text("jitter", {"nightly": f'cron = "30 2 * * *"\ntimezone = "{AMS}"\njitter = 30'})
    with pytest.raises(PipelineError, match=r"links\[0\]: argument 'cron': 'jitter' is not supported with the "
                                            r"celery planner"):
        load_pipeline(text, environ={"REDIS_URL": "redis://127.0.0.1:1/0"})
    monkeypatch.setitem(sys.modules, "databay_aps", None)  # as if it were not installed
    with pytest.raises(PipelineError, match=r"links\[0\]: argument 'cron': cron schedules need databay-aps "
                                            r"\(pip install databay-aps\) wherever this pipeline is loaded"):
        load_pipeline(text.replace("jitter = 30", ""), environ={"REDIS_URL": "redis://127.0.0.1:1/0"})
