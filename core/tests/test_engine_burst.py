"""The engine's short cut for bursts of asynchronous one-inlet, one-outlet links.

With no observer and no debug logging, a scheduled transfer of such a link is one
coroutine (``plain.deliver_pair``) that hands its failures to the planner and releases its
task when it ends; the links' plans are frozen with them. These tests check that the short
cut behaves as the general path does.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref

import pytest
from databay import Inlet, Link, Outlet
from databay.planners import SchedulePlanner
from databay.run.engine import FREEZE_LINKS
from databay.run.state import state_of


class AsyncInlet(Inlet):
    def __init__(self, fail: bool = False):
        super().__init__()
        self.fail = fail
        self.tasks: list[weakref.ref] = []

    async def pull(self, update):
        self.tasks.append(weakref.ref(asyncio.current_task()))
        if self.fail:
            raise ValueError("pull failed")
        return update.transfer_number


class AsyncOutlet(Outlet):
    def __init__(self, fail: bool = False):
        super().__init__()
        self.fail = fail
        self.payloads: list = []

    async def push(self, records, update):
        if self.fail:
            raise ValueError("push failed")
        self.payloads.extend(record.payload for record in records)


def errors_logged(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.ERROR]


@pytest.mark.parametrize("failing", ["pull", "push"])
def test_a_failure_not_ignored_shuts_the_planner_down_gracefully(failing, run_planner, caplog):
    inlet, outlet = AsyncInlet(fail=failing == "pull"), AsyncOutlet(fail=failing == "push")
    planner = SchedulePlanner(Link(inlet, outlet, 0.05))
    with caplog.at_level(logging.ERROR, logger="databay"):
        thread = run_planner(planner, wait_running=False)
        thread.join(10)
    assert not thread.is_alive() and thread.errors == []
    assert len(inlet.tasks) == 1  # no transfer after the failure
    errors = errors_logged(caplog)
    assert len(errors) == 1 and errors[0].getMessage().startswith(f"{failing} failed")


@pytest.mark.parametrize("failing", ["pull", "push"])
def test_a_failure_ignored_is_logged_and_the_link_carries_on(failing, run_planner, wait_until, caplog):
    inlet, outlet = AsyncInlet(fail=failing == "pull"), AsyncOutlet(fail=failing == "push")
    planner = SchedulePlanner(Link(inlet, outlet, 0.05, tags="bad"), ignore_exceptions=True)
    with caplog.at_level(logging.ERROR, logger="databay"):
        run_planner(planner)
        assert wait_until(lambda: len(errors_logged(caplog)) >= 3)
        assert planner.running
    message = errors_logged(caplog)[0].getMessage()
    assert message.startswith(f"{failing} failed\n\nRaised when executing Link(tags:['bad']")


def test_a_finished_transfer_releases_its_task(run_planner, wait_until):
    # Kept until the link's next transfer, 10,000 finished tasks would be walked by the
    # garbage collector's full collections for as long as that takes.
    inlet, outlet = AsyncInlet(), AsyncOutlet()
    run_planner(SchedulePlanner(Link(inlet, outlet, 60), immediate_transfer=True))
    assert wait_until(lambda: outlet.payloads == [0])
    assert wait_until(lambda: inlet.tasks[0]() is None)


def test_the_links_plans_are_frozen_with_them(run_planner, wait_until):
    if not gc.isenabled():
        pytest.skip("the garbage collector is disabled: the engine freezes nothing")
    links = [Link(AsyncInlet(), AsyncOutlet(), 60) for _ in range(FREEZE_LINKS)]
    planner = SchedulePlanner(links, immediate_transfer=False)
    run_planner(planner)
    assert wait_until(lambda: planner.next_due(links[-1]) is not None)  # armed: after the freeze
    plans = {id(state_of(link).plan(link)) for link in links}  # the plans made before the freeze
    collected = {id(o) for generation in range(3) for o in gc.get_objects(generation=generation)}
    assert not plans & collected
