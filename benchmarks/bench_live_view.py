"""The live view's CPU cost: ``databay run`` with 1,000 links at 1 s, with and without it.

Both runs are the installed ``databay run`` command on the same pipeline (1,000 links, each a
``random_int`` inlet and a ``null`` outlet, every second), its output a pseudo-terminal of
50 x 160 characters that a thread reads and discards, as a terminal would:

- ``--no-live -q``: the transfers alone (no line per transfer);
- the live view (the default in a terminal).

Each run warms up for ``WARMUP`` seconds (loading, the first transfers), then the process's
CPU time (user + system, all threads, from ``/proc``) is measured over ``DURATION`` seconds.
Rounds alternate the two runs; medians are quoted. The live view's cost is the difference,
in percent of one core.

The whole-process difference is near the resolution of the CPU clock (10 ms over
``DURATION`` seconds), so one refresh is also timed in this process: the view of the same
pipeline after one transfer of every link (one in seven failing), drawn on a 50 x 160
console (median of 50), and what that costs at the view's refresh rate.

Target: the live view costs less than 10% of a core with 1,000 links at 1 s.
"""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Table, median, verdict  # noqa: E402

LINKS = int(os.environ.get("LIVE_VIEW_LINKS", "1000"))
WARMUP = float(os.environ.get("LIVE_VIEW_WARMUP", "5"))
DURATION = float(os.environ.get("LIVE_VIEW_DURATION", "10"))
ROUNDS = int(os.environ.get("LIVE_VIEW_ROUNDS", "3"))
TARGET_PERCENT = 10.0
TICKS = os.sysconf("SC_CLK_TCK")


def write_pipeline(folder: Path) -> Path:
    links = "".join(f'[[links]]\ntags = ["link{i}"]\ninterval = 1\ninlets = ["random_int"]\noutlets = ["null"]\n\n'
                    for i in range(LINKS))
    path = folder / "live_view.toml"
    path.write_text("[planner]\nuse = \"schedule\"\n\n" + links)
    return path


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: fields 14 and 15 of stat


def measure(pipeline: Path, live: bool) -> float:
    """Percent of one core ``databay run`` uses over DURATION seconds, after WARMUP."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES") and not k.startswith("DATABAY_")}
    env["TERM"] = "xterm-256color"
    options = [] if live else ["--no-live", "-q"]
    process = subprocess.Popen([sys.executable, "-m", "databay", "run", str(pipeline), *options],
                               stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=env,
                               cwd=pipeline.parent)
    os.close(terminal)
    drained = threading.Thread(target=_drain, args=(controller,), daemon=True)
    drained.start()
    try:
        time.sleep(WARMUP)
        if process.poll() is not None:
            raise RuntimeError(f"databay run exited early with {process.returncode}")
        start_cpu, start = cpu_seconds(process.pid), time.monotonic()
        time.sleep(DURATION)
        used, elapsed = cpu_seconds(process.pid) - start_cpu, time.monotonic() - start
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        drained.join(10)
        os.close(controller)
    return 100 * used / elapsed


def _drain(fd: int) -> None:
    while True:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:  # the terminal's other end closed
            return


def refresh_seconds(pipeline_path: Path) -> float:
    """CPU seconds one refresh of the live view takes (median of 50), in this process."""
    import io

    from databay import load_pipeline
    from databay.cli.live_view import LiveView
    from databay.pipeline.progress import ProgressTracker
    from databay.transfer import TransferStats
    from rich.console import Console

    pipeline = load_pipeline(pipeline_path)
    tracker = ProgressTracker(pipeline)
    for index, link in enumerate(pipeline.links):  # as after one transfer of each link
        tracker.databay_transfer_started(link, None)
        if index % 7:
            tracker.databay_transfer_finished(link, None, TransferStats(None, 1, 1, 0.001))
        else:
            tracker.databay_transfer_failed(link, None, RuntimeError("inlet broke"))
    view = LiveView(pipeline, tracker)
    console = Console(file=io.StringIO(), width=160, height=50, force_terminal=True)
    times = []
    for _ in range(50):
        started = time.process_time()
        console.print(view)
        times.append(time.process_time() - started)
    return median(times)


def main() -> None:
    from databay.cli.live_view import REFRESH_PER_SECOND

    with tempfile.TemporaryDirectory() as folder:
        pipeline = write_pipeline(Path(folder))
        plain, live = [], []
        for _ in range(ROUNDS):
            plain.append(measure(pipeline, live=False))
            live.append(measure(pipeline, live=True))
        refresh = refresh_seconds(pipeline)
    plain_cpu, live_cpu = median(plain), median(live)
    view = median(b - a for a, b in zip(plain, live))
    table = Table(f"databay run, {LINKS:,} links at 1 s, {ROUNDS} rounds x {DURATION:g} s "
                  f"(% of one core, median)", ["run", "CPU %", "x without the view"])
    table.add_row("--no-live -q (the transfers)", plain_cpu, "1.00x")
    table.add_row("live view", live_cpu, f"{live_cpu / plain_cpu:.2f}x")
    table.add_row("the live view's share (difference)", view, "")
    table.print()
    refresh_percent = 100 * refresh * REFRESH_PER_SECOND
    print(f"One refresh of the view: {refresh * 1000:.2f} ms of CPU; at {REFRESH_PER_SECOND} refreshes/s, "
          f"{refresh_percent:.2f}% of a core\n", flush=True)
    verdict(f"live view CPU with {LINKS:,} links at 1 s, % of a core", max(view, refresh_percent), TARGET_PERCENT,
            higher_is_better=False)


if __name__ == "__main__":
    main()
