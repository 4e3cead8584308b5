"""databay.testing.kill_at_random_moments: the harness of crash tests."""

from __future__ import annotations

import sys
import time

import pytest
from databay.testing import kill_at_random_moments

# Prints "ready" after argv[1] seconds, counts the runs that got there in "ready.txt" (then
# makes "ready.flag"), then runs until killed (or exits at once when argv[2] is "quits").
PROGRAM = """
import sys, time
time.sleep(float(sys.argv[1]))
print("ready", flush=True)
with open("ready.txt", "a") as counted:
    counted.write("x")
open("ready.flag", "w").close()
if sys.argv[2:] != ["quits"]:
    time.sleep(60)
"""


def command(delay: float = 0.0, *extra: str) -> list[str]:
    return [sys.executable, "-c", PROGRAM, str(delay), *extra]


def test_every_run_is_killed_some_while_starting_the_others_once_ready(tmp_path):
    seen = []
    kills = kill_at_random_moments(command(0.3), 12, ready="ready", cwd=tmp_path, starting_share=0.5,
                                   starting_window=0.1, running_window=0.05, after_kill=lambda: seen.append(1),
                                   seed=7)
    assert (kills.seed, kills.count, len(seen)) == (7, 12, 12)
    readied = len((tmp_path / "ready.txt").read_text())
    assert 0 < readied < 12, "some runs were killed while starting, before they were ready"
    again = kill_at_random_moments(command(0.3), 12, ready="ready", cwd=tmp_path, starting_share=0.5,
                                   starting_window=0.1, running_window=0.05, seed=7)
    assert len((tmp_path / "ready.txt").read_text()) == 2 * readied, "the same seed, the same moments"
    assert again.seconds > 0


def test_a_condition_says_when_it_runs(tmp_path):
    flag = tmp_path / "ready.flag"

    def this_run_is_ready() -> bool:  # each run makes the flag anew: taking it waits for the next
        if not flag.exists():
            return False
        flag.unlink()
        return True

    kill_at_random_moments(command(), 3, ready=this_run_is_ready, cwd=tmp_path, starting_share=0)
    assert (tmp_path / "ready.txt").read_text() == "xxx"


def test_a_run_that_ends_by_itself_fails_the_test(tmp_path):
    with pytest.raises(AssertionError, match="ended before it was killed"):
        kill_at_random_moments(command(0, "quits"), 1, ready="ready", cwd=tmp_path, starting_share=0,
                               running_window=2, seed=1)  # killed 1.7 s after it was ready


def test_a_run_never_ready_fails_the_test_and_is_killed(tmp_path):
    began = time.monotonic()
    with pytest.raises(AssertionError, match="was not ready in 0.5 s"):
        kill_at_random_moments(command(30), 1, ready="ready", cwd=tmp_path, starting_share=0, ready_timeout=0.5)
    assert time.monotonic() - began < 10
