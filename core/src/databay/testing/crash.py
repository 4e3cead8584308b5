"""A crash test's harness: a command killed with SIGKILL at random moments, again and again.

A staged pipeline must lose nothing however it dies. :func:`kill_at_random_moments` runs
``databay run`` (or any command) and kills it with SIGKILL, which leaves it no chance to
clean up, at random moments: while it starts, or once it runs, mid-pull, mid-commit or
mid-push. The test then drains what is left and checks the outlets::

    from databay.testing import kill_at_random_moments

    kills = kill_at_random_moments([databay, "run", "crash.toml", "--no-live", "-qq"], 30, cwd=tmp_path,
                                   ready="ready")   # the pipeline prints "ready" once it runs
    drain = subprocess.run([databay, "run", "crash.toml", "--once"], cwd=tmp_path)
    print(f"seed {kills.seed}: {kills.count} kills in {kills.seconds:.1f} s")
"""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from databay.testing._contract import wait_until

__all__ = ["Kills", "kill_at_random_moments"]


@dataclass(frozen=True)
class Kills:
    """What :func:`kill_at_random_moments` did."""

    seed: int
    """The seed of its random moments (print it: passed back, it repeats them)."""
    count: int
    """How many times it killed the command."""
    seconds: float
    """How long it took."""


def kill_at_random_moments(command: Sequence[str], kills: int, *, ready: str | Callable[[], bool],
                           cwd: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None,
                           starting_share: float = 0.15, starting_window: float = 0.4, running_window: float = 0.25,
                           ready_timeout: float = 30.0, after_kill: Callable[[], object] | None = None,
                           seed: int | None = None) -> Kills:
    """Run ``command`` ``kills`` times, killing it with SIGKILL at a random moment each time.

    :param command: The program and its arguments, e.g. ``databay run PIPELINE --no-live -qq``.
    :param kills: How many times to run and kill it.
    :param ready: How to know that it runs: the first line it prints (e.g. ``"ready"``,
        printed by a node of the pipeline), or a condition polled until true (e.g. "the
        target has more rows than before").
    :param cwd: Its working directory.
    :param env: Its environment.
    :param starting_share: The share of the runs killed while starting (imports, checks,
        opening the stage), within ``starting_window`` seconds of the start; the others are
        killed within ``running_window`` seconds of being ready.
    :param starting_window: See ``starting_share``.
    :param running_window: See ``starting_share``.
    :param ready_timeout: Seconds a run may take to be ready.
    :param after_kill: Called after each kill, e.g. to look at what the kill left.
    :param seed: The seed of the random moments (default: a new one, in the result).
    :raises AssertionError: a run was not ready in time, or ended before it was killed.
    """
    seed = random.randrange(1 << 30) if seed is None else seed
    rng = random.Random(seed)
    began = time.monotonic()
    for _ in range(kills):
        process = subprocess.Popen(list(command), cwd=cwd, env=None if env is None else dict(env), text=True,
                                   stdout=subprocess.PIPE if isinstance(ready, str) else subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            if rng.random() < starting_share:
                time.sleep(rng.uniform(0, starting_window))
            else:
                assert _is_ready(process, ready, ready_timeout), f"{command[0]} was not ready in {ready_timeout} s"
                time.sleep(rng.uniform(0, running_window))
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            assert process.returncode == -signal.SIGKILL, f"{command[0]} ended before it was killed"
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
            if process.stdout is not None:
                process.stdout.close()
        if after_kill is not None:
            after_kill()
    return Kills(seed, kills, time.monotonic() - began)


def _is_ready(process: subprocess.Popen[str], ready: str | Callable[[], bool], timeout: float) -> bool:
    if isinstance(ready, str):
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            return bool(selector.select(timeout)) and process.stdout.readline().strip() == ready
    return wait_until(ready, timeout, every=0.01)
