"""ApsPlanner: constructor, APScheduler jobs and configuration, restart, Ctrl-C."""

from __future__ import annotations

import datetime
import inspect
import subprocess
import sys
import textwrap
import time
import typing

import pytest
from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.triggers.interval import IntervalTrigger
from databay import Link
from databay.errors import MissingLinkError
from databay.testing import interrupt_at_first_pull
from databay.testing.planner_tester import AsyncProbeInlet, Probe, ProbeInlet, ProbeOutlet
from databay_aps import JOB_DEFAULTS, ApsPlanner


def link(probe: Probe, interval: float = 0.1, **options) -> Link:
    immediate = options.pop("immediate_transfer", True)
    inlet_class = AsyncProbeInlet if options.pop("async_inlet", False) else ProbeInlet
    return Link(inlet_class(probe, **options), ProbeOutlet(probe), interval=interval, tags="test",
                immediate_transfer=immediate)


def run_aps(run_planner, wait_until, planner: ApsPlanner) -> None:
    """Start ``planner`` and wait until its APScheduler scheduler has started too."""
    run_planner(planner)
    assert wait_until(lambda: planner._scheduler.running)


def test_defaults():
    planner = ApsPlanner()
    assert planner.threads == 30
    assert planner.ignore_exceptions is False
    assert planner.immediate_transfer is True
    assert planner.shutdown_at_exit is False
    assert planner.running is False and planner.paused is False
    assert planner.links == []
    assert repr(planner) == "ApsPlanner(threads:30)"


def test_constructor_is_the_manuals_and_fully_typed():
    hints = typing.get_type_hints(ApsPlanner.__init__)
    assert list(hints) == ["links", "threads", "executors_override", "job_defaults_override",
                           "ignore_exceptions", "catch_exceptions", "immediate_transfer",
                           "shutdown_at_exit"]
    assert hints["threads"] is int and hints["ignore_exceptions"] is bool


@pytest.mark.parametrize("threads", [0, -1, 2.5, "4", True])
def test_threads_must_be_a_positive_int(threads):
    with pytest.raises(ValueError, match="threads must be a positive int"):
        ApsPlanner(threads=threads)


def test_deprecated_catch_exceptions():
    with pytest.warns(DeprecationWarning, match="catch_exceptions"):
        planner = ApsPlanner(catch_exceptions=True)
    assert planner.ignore_exceptions is True


def test_each_link_gets_an_aps_job_of_its_planners_scheduler():
    first, second = link(Probe(), 3), link(Probe(), 7)
    one, two = ApsPlanner(first), ApsPlanner(second)
    assert isinstance(first.job, Job) and isinstance(second.job, Job)
    assert one._scheduler is not two._scheduler
    assert one._scheduler.get_jobs() == [first.job] and two._scheduler.get_jobs() == [second.job]
    assert isinstance(first.job.trigger, IntervalTrigger)
    assert first.job.trigger.interval == datetime.timedelta(seconds=3)
    one.remove_links(first)
    assert first.job is None and one._scheduler.get_jobs() == []
    with pytest.raises(MissingLinkError):
        one.remove_links(first)


def test_jobs_get_databays_job_defaults(run_planner, wait_until):
    target = link(Probe(), 60)
    planner = ApsPlanner(target)
    run_aps(run_planner, wait_until, planner)
    assert {key: getattr(target.job, key) for key in JOB_DEFAULTS} == JOB_DEFAULTS
    assert JOB_DEFAULTS == {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


def test_job_defaults_override(run_planner, wait_until):
    target = link(Probe(), 60)
    planner = ApsPlanner(target, job_defaults_override={"misfire_grace_time": 5, "max_instances": 3})
    run_aps(run_planner, wait_until, planner)
    assert (target.job.coalesce, target.job.max_instances, target.job.misfire_grace_time) == (True, 3, 5)


@pytest.mark.parametrize(("override", "message"), [
    ({"max_instance": 2}, r"unknown option\(s\) 'max_instance'"),
    ({"max_instances": 0}, "max_instances must be a positive int, found: 0"),
    ({"misfire_grace_time": 0.5}, r"misfire_grace_time must be None or a positive int \(seconds\), found: 0.5"),
    ({"coalesce": "yes"}, "coalesce must be True or False, found: 'yes'"),
])
def test_bad_job_defaults_are_refused_on_construction(override, message):
    with pytest.raises(ValueError, match=f"job_defaults_override: {message}"):
        ApsPlanner(job_defaults_override=override)


def test_executors_override_replaces_the_executor_that_runs_the_jobs(run_planner, wait_until):
    class CountingExecutor(AsyncIOExecutor):
        submitted = 0

        def _do_submit_job(self, job, run_times):
            CountingExecutor.submitted += 1
            super()._do_submit_job(job, run_times)

    probe = Probe()
    planner = ApsPlanner(link(probe, 0.05), executors_override={
        "default": CountingExecutor(), "threads": ThreadPoolExecutor(2)})
    run_planner(planner)
    assert wait_until(lambda: probe.count >= 3)
    assert CountingExecutor.submitted >= 3


def test_executors_override_in_apschedulers_dict_form(run_planner, wait_until):
    probe = Probe()
    overrides = {"default": {"type": "asyncio"}}
    planner = ApsPlanner(link(probe, 0.05), executors_override=overrides)
    assert overrides == {"default": {"type": "asyncio"}}  # left as it was given
    run_planner(planner)
    assert wait_until(lambda: probe.count >= 2)
    ApsPlanner(executors_override={"default": {"class": "apscheduler.executors.asyncio:AsyncIOExecutor"}})


@pytest.mark.parametrize("executor, size", [(ThreadPoolExecutor(2), 2), ({"type": "threadpool"}, 10),
                                            ({"type": "threadpool", "max_workers": 7}, 7),
                                            ({"class": "apscheduler.executors.pool:ThreadPoolExecutor"}, 10)])
def test_a_databay_03_thread_pool_override_sizes_the_pool(run_planner, wait_until, executor, size):
    probe = Probe()
    planner = ApsPlanner(link(probe, 0.05), executors_override={"default": executor})
    assert planner.threads == size
    run_planner(planner)
    assert wait_until(lambda: probe.count >= 2)  # the jobs still run, on the planner's loop


@pytest.mark.parametrize("executor", [{"class": "apscheduler.executors.pool:ProcessPoolExecutor"},
                                      {"type": "processpool"}, "not an executor"])
def test_an_executor_off_the_loop_is_refused(executor):
    with pytest.raises(ValueError, match=r"executors_override\['default'\] must be an apscheduler AsyncIOExecutor"):
        ApsPlanner(executors_override={"default": executor})


def test_links_due_together_share_one_anchor(run_planner, wait_until):
    links = [link(Probe(), 0.5) for _ in range(20)] + [link(Probe(), 0.5, immediate_transfer=False)]
    planner = ApsPlanner(links, immediate_transfer=False)
    run_aps(run_planner, wait_until, planner)
    assert len({target.job.next_run_time for target in links}) == 1


def test_a_link_added_while_running_is_due_one_interval_later(run_planner, wait_until):
    planner = ApsPlanner(link(Probe(), 60))
    run_aps(run_planner, wait_until, planner)
    added = link(Probe(), 30)
    before = datetime.datetime.now(datetime.UTC)
    planner.add_links(added)
    assert added.job in planner._scheduler.get_jobs()
    due_in = (added.job.next_run_time - before).total_seconds()
    assert 29.9 < due_in < 30.5


def test_restart_after_shutdown_anchors_the_jobs_again(run_planner, wait_until):
    probe = Probe()
    target = link(probe, 60)
    planner = ApsPlanner(target)
    for expected in (1, 2):
        thread = run_planner(planner)
        assert wait_until(lambda expected=expected: probe.count == expected)  # the immediate transfer
        planner.shutdown()
        thread.join(5)
        assert not thread.is_alive() and not planner.running
        assert not planner._scheduler.running
        assert planner._scheduler.get_jobs() == [target.job]  # tentative until the next start
    assert target.outlets[0].starts == 2 and target.outlets[0].shutdowns == 2


def test_force_transfer_while_running_runs_on_the_planners_pool(run_planner):
    probe = Probe()
    target = link(probe, 60)
    planner = ApsPlanner(target, immediate_transfer=False)
    run_planner(planner)
    planner.force_transfer()
    assert target.outlets[0].payloads == [0]
    import threading

    names = {thread.ident: thread.name for thread in threading.enumerate()}
    assert names[probe.threads[0]].startswith("databay-worker")


def test_shutdown_without_wait_cancels_async_transfers_quietly(run_planner, wait_until, caplog):
    probe = Probe()
    target = link(probe, 60, async_inlet=True, sleep=5)
    planner = ApsPlanner(target)
    thread = run_planner(planner)
    assert wait_until(lambda: probe.active == 1)
    started = time.monotonic()
    planner.shutdown(wait=False)
    thread.join(5)
    assert time.monotonic() - started < 2 and not thread.is_alive()
    assert target.outlets[0].payloads == [] and target.outlets[0].shutdowns == 1
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_ctrl_c_shuts_down_gracefully():
    result = interrupt_at_first_pull("databay.planners:ApsPlanner")
    assert result.stdout == "pulled\non_shutdown ran\nKeyboardInterrupt raised\n", result.stderr
    assert result.returncode == 0


def test_ctrl_c_during_a_transfer_on_the_loop_is_not_swallowed_by_apscheduler():
    # APScheduler catches everything its jobs raise; a KeyboardInterrupt landing inside a
    # transfer must still shut the planner down gracefully and leave start() raising it.
    script = textwrap.dedent("""
        from databay import Inlet, Link, Outlet
        from databay.planners import ApsPlanner

        class In(Inlet):
            async def pull(self, update):
                if update.transfer_number == 1:
                    raise KeyboardInterrupt
                return 1

        class Out(Outlet):
            def push(self, records, update):
                print("pushed", update, flush=True)
            def on_shutdown(self):
                print("on_shutdown ran", flush=True)

        try:
            ApsPlanner(Link(In(), Out(), 0.05)).start()
        except KeyboardInterrupt:
            print("KeyboardInterrupt raised", flush=True)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert result.stdout == "pushed 0\non_shutdown ran\nKeyboardInterrupt raised\n", result.stderr


def test_apsplanner_is_a_deprecated_alias():
    from databay_aps import APSPlanner

    with pytest.warns(DeprecationWarning, match="APSPlanner is a deprecated alias of ApsPlanner"):
        planner = APSPlanner(threads=4, immediate_transfer=False)
    assert isinstance(planner, ApsPlanner)
    assert (planner.threads, planner.immediate_transfer) == (4, False)
    assert repr(planner) == "APSPlanner(threads:4)"
    assert inspect.signature(APSPlanner) == inspect.signature(ApsPlanner)
    assert typing.get_type_hints(APSPlanner.__init__) == typing.get_type_hints(ApsPlanner.__init__)
