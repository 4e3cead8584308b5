"""RetryPolicy: its delays and settings, retries of pulls and pushes, and backoff that never
blocks the planner's loop and ends at shutdown."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from databay import Inlet, Link, Outlet
from databay.planners import SchedulePlanner
from databay.retry import RetryPolicy


class FlakyInlet(Inlet):
    def __init__(self, failures: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.failures = failures
        self.attempts = 0

    def pull(self, update):
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise TimeoutError("source slow")
        return [{"n": self.attempts}]


class FlakyOutlet(Outlet):
    def __init__(self, failures: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.failures = failures
        self.attempts: list[tuple[float, str]] = []
        self.records = []

    def push(self, records, update):
        self.attempts.append((time.monotonic(), threading.current_thread().name))
        if self.failures:
            self.failures -= 1
            raise ConnectionError("sink down")
        self.records.extend(records)


NO_WAIT = RetryPolicy(attempts=3, initial_delay=0, max_delay=0)


# -- the policy ----------------------------------------------------------------------------


def test_delays_grow_exponentially_up_to_max_delay():
    policy = RetryPolicy(attempts=8, initial_delay=0.5, backoff=3, max_delay=10, jitter=0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.5, 4.5, 10, 10]


def test_jitter_shortens_each_delay_by_up_to_its_fraction():
    policy = RetryPolicy(initial_delay=2, backoff=2, max_delay=100, jitter=0.25)
    assert policy.delay(3, rand=lambda: 0.0) == 8
    assert policy.delay(3, rand=lambda: 1.0) == 6
    delays = [policy.delay(3) for _ in range(200)]
    assert all(6 <= d <= 8 for d in delays) and len(set(delays)) > 100


def test_retry_on_takes_classes_and_names():
    policy = RetryPolicy(retry_on=["ConnectionError", "json:JSONDecodeError"])
    import json

    assert policy.retry_on == (ConnectionError, json.JSONDecodeError)
    assert policy.retries(ConnectionResetError()) and not policy.retries(ValueError())
    assert RetryPolicy(retry_on=TimeoutError).retry_on == (TimeoutError,)


@pytest.mark.parametrize("settings, message", [
    ({"attempts": 0}, "attempts must be a positive integer, got 0"),
    ({"attempts": True}, "attempts must be a positive integer, got True"),
    ({"initial_delay": -1}, "initial_delay must be a number >= 0, got -1"),
    ({"backoff": 0.5}, "backoff must be >= 1, got 0.5"),
    ({"jitter": 2}, "jitter must be between 0 and 1, got 2"),
    ({"retry_on": "NoSuchError"}, "'NoSuchError' is not a builtin exception; name others as 'module:Class'"),
    ({"retry_on": "json:Nope"}, "cannot import exception 'json:Nope'"),
    ({"atempts": 3}, "unknown setting 'atempts' \\(did you mean 'attempts'\\?\\)"),
])
def test_bad_settings_are_named(settings, message):
    with pytest.raises((ValueError, TypeError), match=message):
        RetryPolicy.coerce(settings)


def test_retry_on_must_name_exceptions():
    with pytest.raises(TypeError, match="retry_on must name exception classes, got 'len'|got <built-in"):
        RetryPolicy(retry_on=[len])


def test_components_take_a_policy_or_its_settings():
    outlet = FlakyOutlet(retry={"attempts": 5, "initial_delay": 0.1})
    assert outlet.retry_policy == RetryPolicy(attempts=5, initial_delay=0.1)
    assert FlakyInlet().retry_policy is None
    link = Link(FlakyInlet(), outlet, interval=1, retry=RetryPolicy(attempts=2))
    assert link.retry_policy.attempts == 2


def test_a_databay_03_subclass_that_forwards_no_keywords_still_gets_a_policy():
    class Old(Outlet):
        def __init__(self, path):
            super().__init__()
            self.path = path

        def push(self, records, update):
            raise ConnectionError("down")

    outlet = Old("x")
    assert outlet.retry_policy is None
    outlet.retry_policy = RetryPolicy(attempts=2, initial_delay=0, max_delay=0)
    link = Link(FlakyInlet(), outlet, interval=1)
    with pytest.raises(ConnectionError):
        link.transfer()


# -- retrying on unstaged links ----------------------------------------------------------


def test_a_failing_push_is_retried_until_it_succeeds():
    outlet = FlakyOutlet(failures=2)
    Link(FlakyInlet(), outlet, interval=1, retry=NO_WAIT).transfer()
    assert len(outlet.attempts) == 3 and [r.payload for r in outlet.records] == [{"n": 1}]


def test_a_failing_pull_is_retried_until_it_succeeds():
    inlet, outlet = FlakyInlet(failures=2), FlakyOutlet()
    Link(inlet, outlet, interval=1, retry=NO_WAIT).transfer()
    assert [r.payload for r in outlet.records] == [{"n": 3}]


def test_after_the_last_attempt_the_original_exception_is_raised():
    outlet = FlakyOutlet(failures=5)
    with pytest.raises(ConnectionError, match="sink down"):
        Link(FlakyInlet(), outlet, interval=1, retry=NO_WAIT).transfer()
    assert len(outlet.attempts) == 3


def test_after_the_last_attempt_ignore_exceptions_logs(caplog):
    outlet = FlakyOutlet(failures=5)
    with caplog.at_level(logging.WARNING, logger="databay"):
        Link(FlakyInlet(), outlet, interval=1, retry=NO_WAIT, ignore_exceptions=True).transfer()
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert [r.getMessage().split(" failed ")[1].split(":")[0] for r in retries] == [
        "(attempt 1 of 3)", "(attempt 2 of 3)"]
    assert any("sink down" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)


def test_exceptions_outside_retry_on_fail_at_once():
    outlet = FlakyOutlet(failures=5, retry=RetryPolicy(attempts=5, retry_on=TimeoutError))
    with pytest.raises(ConnectionError):
        Link(FlakyInlet(), outlet, interval=1).transfer()
    assert len(outlet.attempts) == 1


def test_outlet_processors_run_once_however_often_the_push_is_retried():
    calls = []

    def processor(records):
        calls.append(len(records))
        return records

    outlet = FlakyOutlet(failures=2, processors=processor)
    Link(FlakyInlet(), outlet, interval=1, retry=NO_WAIT).transfer()
    assert calls == [1] and len(outlet.attempts) == 3


def test_waits_between_attempts_follow_the_policy():
    outlet = FlakyOutlet(failures=3)
    policy = RetryPolicy(attempts=4, initial_delay=0.05, backoff=2, max_delay=0.15, jitter=0.5)
    Link(FlakyInlet(), outlet, interval=1, retry=policy).transfer()
    times = [t for t, _ in outlet.attempts]
    gaps = [b - a for a, b in zip(times, times[1:])]
    for gap, nominal in zip(gaps, [0.05, 0.1, 0.15]):
        assert nominal * 0.5 - 0.005 <= gap <= nominal + 0.05, (gaps, nominal)


# -- in a planner --------------------------------------------------------------------------


def test_backoff_does_not_block_other_links_and_sync_attempts_run_in_the_pool(run_planner, wait_until):
    slow = FlakyOutlet(failures=1000)
    waiting = Link(FlakyInlet(), slow, interval=60, retry=RetryPolicy(attempts=3, initial_delay=0.5, jitter=0))
    busy_outlet = FlakyOutlet()
    busy = Link(FlakyInlet(), busy_outlet, interval=0.02)
    planner = SchedulePlanner([waiting, busy], ignore_exceptions=True)
    run_planner(planner)
    assert wait_until(lambda: len(slow.attempts) == 1)
    began = len(busy_outlet.records)
    time.sleep(0.3)  # inside the first 0.5 s backoff of the other link
    assert len(busy_outlet.records) - began >= 5
    assert all(name.startswith("databay-worker") for _, name in slow.attempts)


def test_shutdown_ends_a_backoff_at_once(run_planner, wait_until, tmp_path):
    slow = FlakyOutlet(failures=1000)
    link = Link(FlakyInlet(), slow, interval=60, stage=tmp_path / "s.stage",
                retry=RetryPolicy(attempts=5, initial_delay=30))
    planner = SchedulePlanner(link, ignore_exceptions=True)
    thread = run_planner(planner)
    assert wait_until(lambda: len(slow.attempts) == 1)
    began = time.monotonic()
    planner.shutdown(wait=True)
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - began < 2
    # Interrupted, not exhausted: the batch is still pending, not dead-lettered.
    from databay.stage import Stage

    with Stage(tmp_path / "s.stage") as stage:
        assert [(b.state, b.batches) for b in stage.backlog()] == [("pending", 1)]
