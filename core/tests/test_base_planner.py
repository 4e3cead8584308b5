"""BasePlanner: links, start/shutdown order, exceptions, and the documented extension points.

``LoopPlanner`` is a complete custom planner written the way the manual's "Extending
BasePlanner" says: it implements only ``_schedule``, ``_unschedule``, ``_start_planner``,
``_shutdown_planner`` and ``running``.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from databay import BasePlanner, Inlet, Link, Outlet
from databay.errors import MissingLinkError


class LoopPlanner(BasePlanner):
    """Transfers each link when its interval elapses, polling every 10 ms until shut down."""

    def __init__(self, *args, **kwargs):
        self.calls: list = []
        self._stop = threading.Event()
        self._running = False
        super().__init__(*args, **kwargs)

    def _schedule(self, link):
        self.calls.append(("schedule", link))
        link.set_job({"due": None})

    def _unschedule(self, link):
        self.calls.append(("unschedule", link))
        link.set_job(None)

    def _start_planner(self):
        self.calls.append(("start_planner",))
        self._stop.clear()
        self._running = True
        try:
            while not self._stop.wait(0.01):
                now = time.monotonic()
                for link in list(self.links):
                    job = link.job
                    if job is None:
                        continue
                    if job["due"] is None:
                        job["due"] = now + link.interval.total_seconds()
                    elif now >= job["due"]:
                        job["due"] += link.interval.total_seconds()
                        try:
                            link.transfer()
                        except Exception as exc:
                            self._on_exception(exc, link)
        finally:
            self._running = False

    def _shutdown_planner(self, wait=True):
        self.calls.append(("shutdown_planner", wait))
        self._stop.set()

    @property
    def running(self):
        return self._running


class MinimalPlanner(BasePlanner):
    """Implements only the abstract methods, keeping the default ``running``."""

    def __init__(self, *args, **kwargs):
        self.calls: list = []
        super().__init__(*args, **kwargs)

    def _schedule(self, link):
        self.calls.append("schedule")

    def _unschedule(self, link):
        self.calls.append("unschedule")

    def _start_planner(self):
        self.calls.append("start_planner")

    def _shutdown_planner(self, wait=True):
        self.calls.append(("shutdown_planner", wait))


class Journal:
    """A shared, ordered log of what the nodes and planners did."""

    def __init__(self):
        self.events: list[str] = []
        self.lock = threading.Lock()

    def add(self, event: str) -> None:
        with self.lock:
            self.events.append(event)


class JournalInlet(Inlet):
    def __init__(self, journal, name, fail=False):
        super().__init__()
        self.journal, self.name, self.fail = journal, name, fail

    def pull(self, update):
        self.journal.add(f"pull {self.name} {update}")
        if self.fail:
            raise ValueError(f"{self.name} broke")
        return [1]

    def on_start(self):
        self.journal.add(f"start {self.name}")

    def on_shutdown(self):
        self.journal.add(f"shutdown {self.name}")


class JournalOutlet(Outlet):
    def __init__(self, journal, name):
        super().__init__()
        self.journal, self.name = journal, name

    def push(self, records, update):
        self.journal.add(f"push {self.name} {update}")

    def on_start(self):
        self.journal.add(f"start {self.name}")

    def on_shutdown(self):
        self.journal.add(f"shutdown {self.name}")


def journal_link(journal, name, interval=60, fail=False, **kwargs) -> Link:
    return Link(JournalInlet(journal, f"{name}-in", fail), JournalOutlet(journal, f"{name}-out"),
                interval, tags=name, **kwargs)


def test_base_planner_is_abstract():
    with pytest.raises(TypeError):
        BasePlanner()


def test_defaults_and_default_running():
    planner = MinimalPlanner()
    assert planner.links == []
    assert planner.ignore_exceptions is False
    assert planner.immediate_transfer is True
    assert planner.shutdown_at_exit is False
    assert planner.running is True
    assert repr(planner) == "MinimalPlanner(links=0, shutdown_at_exit=False)"


def test_constructor_links_are_scheduled():
    journal = Journal()
    one, two = journal_link(journal, "one"), journal_link(journal, "two")
    planner = LoopPlanner([one, two])
    assert planner.links == [one, two]
    assert planner.calls == [("schedule", one), ("schedule", two)]
    assert LoopPlanner(one).links == [one]


def test_add_links_schedules_and_sets_jobs():
    journal = Journal()
    planner = LoopPlanner()
    link = journal_link(journal, "a")
    planner.add_links(link)
    assert planner.links == [link]
    assert link.job == {"due": None}
    planner.add_links(link)  # already there: ignored, not scheduled twice
    assert planner.calls == [("schedule", link)]


def test_add_links_rejects_non_links():
    planner = LoopPlanner()
    link = journal_link(Journal(), "a")
    with pytest.raises(TypeError, match=r"Provided link is not an instance of Link\(\), found: 'x'"):
        planner.add_links([link, "x"])
    assert planner.links == []


def test_remove_links_unschedules():
    journal = Journal()
    one, two = journal_link(journal, "one"), journal_link(journal, "two")
    planner = LoopPlanner([one, two])
    planner.remove_links(one)
    assert planner.links == [two]
    assert planner.calls[-1] == ("unschedule", one)
    assert one.job is None


def test_remove_missing_link_is_a_missing_link_error():
    journal = Journal()
    one = journal_link(journal, "one")
    planner = LoopPlanner(one)
    stranger = journal_link(journal, "stranger")
    with pytest.raises(MissingLinkError, match="Planner does not contain the link"):
        planner.remove_links([one, stranger])
    assert planner.links == [one]  # nothing removed by the failed call
    assert ("unschedule", one) not in planner.calls


def test_purge_unschedules_and_clears_all_links():
    journal = Journal()
    links = [journal_link(journal, "one"), journal_link(journal, "two")]
    planner = LoopPlanner(links)
    planner.purge()
    assert planner.links == []
    assert planner.calls[-2:] == [("unschedule", links[0]), ("unschedule", links[1])]


def test_start_order_on_start_then_immediate_transfers_then_start_planner():
    journal = Journal()
    link = journal_link(journal, "a")
    planner = MinimalPlanner(link)
    planner.calls.clear()
    link_outlet = link.outlets[0]
    original = planner._start_planner
    planner._start_planner = lambda: (journal.add("start_planner"), original())
    planner.start()
    assert journal.events == ["start a-in", "start a-out", "pull a-in a.0", "push a-out a.0", "start_planner"]
    assert link_outlet.active
    planner.shutdown(wait=False)
    assert planner.calls[-1] == ("shutdown_planner", False)
    assert journal.events[-2:] == ["shutdown a-in", "shutdown a-out"]


def test_immediate_transfer_disabled_on_the_planner():
    journal = Journal()
    planner = MinimalPlanner(journal_link(journal, "a"), immediate_transfer=False)
    planner.start()
    assert journal.events == ["start a-in", "start a-out"]


def test_immediate_transfer_disabled_on_one_link():
    journal = Journal()
    planner = MinimalPlanner([journal_link(journal, "a", immediate_transfer=False), journal_link(journal, "b")])
    planner.start()
    assert [e for e in journal.events if e.startswith(("pull", "push"))] == ["pull b-in b.0", "push b-out b.0"]


def test_custom_planner_runs_blocks_and_shuts_down_from_another_thread(run_planner, wait_until):
    journal = Journal()
    planner = LoopPlanner(journal_link(journal, "a", interval=0.05), immediate_transfer=False)
    thread = run_planner(planner)
    assert wait_until(lambda: sum(e.startswith("push") for e in journal.events) >= 2)
    assert thread.is_alive()  # start() blocks
    planner.shutdown(wait=True)
    thread.join(5)
    assert not thread.is_alive() and not planner.running
    assert planner.calls[-1] == ("shutdown_planner", True)
    assert journal.events[-2:] == ["shutdown a-in", "shutdown a-out"]
    assert journal.events[0:2] == ["start a-in", "start a-out"]


def test_force_transfer_transfers_every_link_once():
    journal = Journal()
    planner = MinimalPlanner([journal_link(journal, "a"), journal_link(journal, "b")])
    planner.force_transfer()
    assert journal.events == ["pull a-in a.0", "push a-out a.0", "pull b-in b.0", "push b-out b.0"]


def test_exception_not_ignored_is_logged_and_shuts_the_planner_down(run_planner, wait_until, caplog):
    journal = Journal()
    bad = journal_link(journal, "bad", interval=0.05, fail=True)
    planner = LoopPlanner(bad, immediate_transfer=False)
    with caplog.at_level(logging.ERROR, logger="databay"):
        thread = run_planner(planner)
        thread.join(5)
    assert not thread.is_alive()
    assert ("shutdown_planner", False) in planner.calls
    assert sum(e.startswith("pull") for e in journal.events) == 1
    errors = [r for r in caplog.records if r.name == "databay.BasePlanner"]
    assert len(errors) == 1
    assert errors[0].getMessage().startswith("bad-in broke\n\nRaised when executing Link(tags:['bad']")
    assert journal.events[-2:] == ["shutdown bad-in", "shutdown bad-out"]


def test_exception_ignored_is_logged_and_the_planner_carries_on(run_planner, wait_until, caplog):
    journal = Journal()
    bad = journal_link(journal, "bad", interval=0.05, fail=True)
    good = journal_link(journal, "good", interval=0.05)
    planner = LoopPlanner([bad, good], ignore_exceptions=True, immediate_transfer=False)
    with caplog.at_level(logging.ERROR, logger="databay"):
        run_planner(planner)
        assert wait_until(lambda: sum(e.startswith("pull bad") for e in journal.events) >= 3)
        assert wait_until(lambda: sum(e.startswith("push good") for e in journal.events) >= 3)
        assert planner.running
    errors = [r for r in caplog.records if r.name == "databay.BasePlanner"]
    assert len(errors) >= 3
    assert all(r.getMessage().startswith("bad-in broke") for r in errors)


def test_force_transfer_logs_failures_and_continues_with_other_links(caplog):
    journal = Journal()
    planner = MinimalPlanner([journal_link(journal, "bad", fail=True), journal_link(journal, "b")],
                             ignore_exceptions=True)
    with caplog.at_level(logging.ERROR, logger="databay"):
        planner.force_transfer()
    assert journal.events == ["pull bad-in bad.0", "pull b-in b.0", "push b-out b.0"]
    assert len([r for r in caplog.records if r.name == "databay.BasePlanner"]) == 1


def test_failing_immediate_transfer_without_ignoring_shuts_down_instead_of_starting(caplog):
    journal = Journal()
    planner = MinimalPlanner(journal_link(journal, "bad", fail=True))
    with caplog.at_level(logging.ERROR, logger="databay"):
        planner.start()
    assert "start_planner" not in planner.calls
    assert ("shutdown_planner", False) in planner.calls


def test_failing_on_start_without_ignoring_does_not_start(caplog):
    class BadStart(JournalOutlet):
        def on_start(self):
            raise OSError("cannot connect")

    journal = Journal()
    link = Link(JournalInlet(journal, "in"), BadStart(journal, "out"), 60)
    planner = MinimalPlanner(link)
    with caplog.at_level(logging.ERROR, logger="databay"):
        planner.start()
    assert "start_planner" not in planner.calls
    assert "pull" not in " ".join(journal.events)
    assert 'on_start link exception: "cannot connect"' in caplog.records[0].getMessage()


def test_shutdown_at_exit_callback():
    journal = Journal()
    planner = MinimalPlanner(journal_link(journal, "a"), shutdown_at_exit=True)
    planner._at_exit_callback()
    assert planner.calls[-1] == ("shutdown_planner", True)
    quiet = MinimalPlanner(journal_link(journal, "b"))
    quiet._at_exit_callback()
    assert ("shutdown_planner", True) not in quiet.calls


@pytest.mark.parametrize("shutdown_at_exit", [True, False])
def test_shutdown_at_exit_in_a_real_process(shutdown_at_exit):
    script = textwrap.dedent(f"""
        import threading, time
        from databay import Link
        from databay.planners import SchedulePlanner
        from databay.testing import SequenceInlet
        from databay.testing.interrupt import ShutdownAnnouncer

        planner = SchedulePlanner(Link(SequenceInlet(), ShutdownAnnouncer(), 60), shutdown_at_exit={shutdown_at_exit})
        threading.Thread(target=planner.start, daemon=True).start()
        while not planner.running:
            time.sleep(0.01)
        print("exiting", flush=True)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    expected = "exiting\non_shutdown ran\n" if shutdown_at_exit else "exiting\n"
    assert result.stdout == expected
