"""`databay run` in a subprocess: --once, signals, Buffer flush, JSON logs and the live view."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

NODES = Path(__file__).resolve().parent / "fixtures" / "pipelines"



def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABAY_")}
    env.update(PYTHONPATH=str(NODES), COLUMNS="160", **extra)
    return env


@pytest.fixture
def start(installed):
    """``start(*args, cwd=...)``: a running ``databay`` process; killed after the test if still running."""
    processes: list[subprocess.Popen] = []

    def spawn(*args: str, cwd: Path) -> subprocess.Popen:
        process = subprocess.Popen([str(installed.bin / "databay"), *args], cwd=cwd, env=environment(),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        processes.append(process)
        return process

    yield spawn
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate()


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def sequence_link(tmp_path: Path, delay: float, tags: str = "seq", outlet: str = "") -> str:
    outlet = outlet or (f'{{ use = "file", default_filepath = "{tmp_path}/delivered.txt", '
                        f'processors = [{{ use = "buffer", count_threshold = 12 }}] }}')
    return f"""
        [[links]]
        tags = ["{tags}"]
        interval = "100ms"
        inlets = [{{ use = "pipeline_nodes:SequenceInlet", log = "{tmp_path}/pulls.txt", produced = "{tmp_path}/produced.txt", batch = 5, delay = {delay} }}]
        outlets = [{outlet}]
    """


FAILING_LINK = """
    [[links]]
    tags = ["broken"]
    interval = 1
    inlets = ["pipeline_nodes:FailingInlet"]
    outlets = ["null"]
"""


def test_once_transfers_each_link_and_says_where_records_went(installed, tmp_path, write_pipeline):
    path = write_pipeline(sequence_link(tmp_path, delay=0))
    result = installed.run("databay", "run", str(path), "--once", env=environment(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert lines(tmp_path / "delivered.txt") == [str(n) for n in range(5)]  # held by the Buffer, flushed
    assert result.stdout.splitlines()[0].startswith("ok     links[0] seq: 5 pulled, 5 pushed in ")
    assert f"-> file(default_filepath='{tmp_path}/delivered.txt'" in result.stdout


def test_once_exits_1_when_a_transfer_fails_and_still_runs_the_others(installed, tmp_path, write_pipeline):
    path = write_pipeline(sequence_link(tmp_path, delay=0) + FAILING_LINK)
    result = installed.run("databay", "run", str(path), "--once", env=environment(), cwd=tmp_path)
    assert result.returncode == 1
    assert "FAILED links[1] broken: RuntimeError: inlet broke" in result.stdout
    assert len(lines(tmp_path / "delivered.txt")) == 5
    assert "Traceback" not in result.stderr  # named in the log line, a traceback only with --debug
    assert "links[1] broken: transfer failed: inlet broke (RuntimeError)" in result.stderr
    debug = installed.run("databay", "--debug", "run", str(path), "--once", env=environment(), cwd=tmp_path)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_json_logs_parse(installed, tmp_path, write_pipeline):
    path = write_pipeline(sequence_link(tmp_path, delay=0) + FAILING_LINK)
    result = installed.run("databay", "run", str(path), "--once", "--log-format", "json", "-v",
                           env=environment(), cwd=tmp_path)
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    [failure] = [r for r in records if r["level"] == "ERROR"]
    assert failure["logger"] == "databay.pipeline" and "links[1] broken: transfer failed" in failure["message"]
    assert "RuntimeError: inlet broke" in failure["exception"]
    assert any(r["level"] == "INFO" for r in records)  # -v


def test_sigterm_mid_transfer_delivers_every_produced_record(tmp_path, start, write_pipeline):
    path = write_pipeline(sequence_link(tmp_path, delay=0.3))
    process = start("run", str(path), "--no-live", cwd=tmp_path)
    wait_for(lambda: len(lines(tmp_path / "pulls.txt")) >= 3)  # the third pull is in its 0.3 s wait
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "SIGTERM: shutting down gracefully" in stderr and "Traceback" not in stderr
    produced, delivered = lines(tmp_path / "produced.txt"), lines(tmp_path / "delivered.txt")
    assert len(produced) >= 15  # the pull in flight when the signal came finished too
    assert sorted(delivered, key=int) == sorted(produced, key=int)  # each once, the Buffer's too


@pytest.mark.parametrize("planner", ["schedule", "aps"])
def test_a_buffer_is_flushed_at_shutdown(tmp_path, start, planner, write_pipeline):
    outlet = (f'{{ use = "file", default_filepath = "{tmp_path}/delivered.txt", '
              f'processors = [{{ use = "buffer", count_threshold = 100000 }}] }}')
    path = write_pipeline(f'planner = "{planner}"\n' + textwrap.dedent(sequence_link(tmp_path, delay=0, outlet=outlet)))
    process = start("run", str(path), "--no-live", cwd=tmp_path)
    wait_for(lambda: len(lines(tmp_path / "produced.txt")) >= 10)
    assert lines(tmp_path / "delivered.txt") == []  # all held by the Buffer
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert lines(tmp_path / "delivered.txt") == lines(tmp_path / "produced.txt")


@pytest.fixture
def slow_outlet_pipeline(write_pipeline, tmp_path: Path) -> Path:
    """A pipeline whose pushes take a minute each."""
    outlet = f'{{ use = "pipeline_nodes:SlowOutlet", log = "{tmp_path}/pushes.txt", delay = 60 }}'
    return write_pipeline(sequence_link(tmp_path, delay=0, outlet=outlet))


def test_a_second_signal_forces_the_exit(tmp_path, start, slow_outlet_pipeline):
    process = start("run", str(slow_outlet_pipeline), "--no-live", cwd=tmp_path)
    wait_for(lambda: lines(tmp_path / "pushes.txt"))  # a push that takes a minute
    process.send_signal(signal.SIGTERM)
    line = " "
    while line and "shutting down gracefully" not in line:
        line = process.stderr.readline()
    assert line, "the first signal was not acknowledged"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 1
    assert "SIGTERM again: forcing the exit" in stderr


def test_the_shutdown_timeout_forces_the_exit(tmp_path, start, slow_outlet_pipeline):
    began = time.monotonic()
    process = start("run", str(slow_outlet_pipeline), "--no-live",
                    "--shutdown-timeout", "0.5", cwd=tmp_path)
    wait_for(lambda: lines(tmp_path / "pushes.txt"))
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 1
    assert "shutdown took longer than 0.5s: forcing the exit" in stderr
    assert time.monotonic() - began < 15


def test_the_planner_stopping_on_an_error_exits_1(installed, tmp_path, write_pipeline):
    path = write_pipeline(FAILING_LINK)
    result = installed.run("databay", "run", str(path), "--no-live", env=environment(), cwd=tmp_path, timeout=30)
    assert result.returncode == 1
    assert "links[0] broken: transfer 1 failed: RuntimeError: inlet broke" in result.stderr
    assert "The planner stopped by itself after an error" in result.stderr


def test_plain_log_lines_without_a_terminal(tmp_path, start, write_pipeline):
    path = write_pipeline(sequence_link(tmp_path, delay=0))
    process = start("run", str(path), cwd=tmp_path)  # stdout is a pipe: no live view
    wait_for(lambda: len(lines(tmp_path / "pulls.txt")) >= 2)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0 and stdout == ""
    assert "links[0] seq: transfer 1: 5 pulled, 5 pushed in " in stderr


@pytest.mark.parametrize("quiet", [["-q"], ["-qq"]])
def test_quiet_runs_log_no_progress(tmp_path, quiet, start, write_pipeline):
    path = write_pipeline(sequence_link(tmp_path, delay=0))
    process = start("run", str(path), *quiet, cwd=tmp_path)
    wait_for(lambda: len(lines(tmp_path / "pulls.txt")) >= 2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0 and "transfer 1:" not in stderr
    assert ("shutting down gracefully" in stderr) == (quiet == ["-q"])


def test_invalid_and_unbuildable_pipelines_exit_2(installed, write_pipeline):
    path = write_pipeline('[[links]]\ninterval = "soon"\ninlets = ["null"]\noutlets = ["null"]\n')
    result = installed.databay("run", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "links[0]: argument 'interval': 'soon' is not an interval" in result.stderr
    path = write_pipeline('[[links]]\ninterval = 1\ninlets = [{ use = "random_int", min = 9, max = 1 }]\n'
                           'outlets = ["null"]\n')
    result = installed.databay("run", str(path), "--once")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert ("links[0].inlets[0] (random_int): could not be built: ValueError: RandomIntInlet: min (9) must "
            "not be greater than max (1)") in result.stderr


def test_the_live_view_in_a_terminal(installed, tmp_path, write_pipeline):
    tolerant = "[planner]\nignore_exceptions = true\n"  # the failing link must not stop the planner
    path = write_pipeline(tolerant + textwrap.dedent(sequence_link(tmp_path, delay=0, tags="live_seq")) + FAILING_LINK)
    pid, fd = pty.fork()
    if pid == 0:  # the child: databay with the terminal as its output
        try:
            os.chdir(tmp_path)
            os.execve(str(installed.bin / "databay"), ["databay", "run", str(path)], environment())
        finally:
            os._exit(127)  # never back into pytest
    screen = b""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (b"inlet broke" not in screen or b"live_seq" not in screen):
        screen += _read(fd, 0.1)
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (chunk := _read(fd, 0.5)) != b"":
        screen += chunk
    status = _wait(pid)
    os.close(fd)
    text = screen.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text[-2000:]
    for column in ("Link", "Tags", "Schedule", "Transfers", "Records", "Last", "Next", "Last error"):
        assert column in text
    assert "live_seq" in text and "100ms" in text and "RuntimeError: inlet broke" in text
    assert "(1 failed)" in text and "stopped" in text


def _wait(pid: int, timeout: float = 10) -> int:
    """The child's wait status; killed if it has not exited within ``timeout`` (the test then fails)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def _read(fd: int, timeout: float) -> bytes:
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return b" "  # nothing yet, but not the end
    try:
        return os.read(fd, 65536)
    except OSError:  # the child closed the terminal
        return b""
