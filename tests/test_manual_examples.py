"""The manual's examples run unchanged and print what the manual says they print."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "manual"
RUNNER = Path(__file__).resolve().parent / "fixtures" / "run_example.py"


def run_example(name: str, seconds: float, cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, str(RUNNER), str(EXAMPLES / name), str(seconds)],
        capture_output=True, text=True, timeout=120, cwd=cwd,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_basic_inlet_prints_random_ints():
    lines = run_example("basic_inlet.py", 0.5).stdout.splitlines()
    assert lines and all(re.fullmatch(r"random_ints\.\d+ \d+", line) for line in lines), lines
    assert lines[0].startswith("random_ints.0 ")


def test_basic_outlet_prints_update_and_payload():
    lines = run_example("basic_outlet.py", 2.5).stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["print_outlet.0", "print_outlet.1"]
    assert all(0 <= int(line.split()[1]) <= 100 for line in lines)


def test_basic_metadata_prints_only_records_of_the_inlet_that_may_print():
    lines = run_example("basic_metadata.py", 1.2).stdout.splitlines()
    assert len(lines) >= 2
    pattern = (r"should_print_metadata\.(\d+) Record\(payload=\d+, metadata=\{'ConditionalPrintOutlet\."
               r"SHOULD_PRINT': True, '__inlet__': \"RandomIntInlet\(metadata=\{'ConditionalPrintOutlet\."
               r"SHOULD_PRINT': True\}\)\"\}\)")
    numbers = [int(re.fullmatch(pattern, line).group(1)) for line in lines]
    assert numbers == list(range(len(lines)))  # one printed record per transfer, none from the 'off' inlet


def test_basic_asynchronous_overlaps_the_waits():
    log = run_example("basic_asynchronous.py", 1.5).stderr
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\|D\| async\.0 transfer \(databay\.Link\)$",
                     log, re.M), log
    assert len(re.findall(r"async\.0 produced:\d+ \(databay\.basic_asynchronous\)", log)) == 3
    assert len(re.findall(r"async\.0 consumed:\d+", log)) == 3
    times = {}
    for stamp, event in re.findall(r"\d\d:\d\d:(\d\d\.\d{3})\|D\| async\.0 (transfer|done)", log):
        times[event] = float(stamp)
    duration = (times["done"] - times["transfer"]) % 60
    assert 0.9 <= duration < 2.5, log  # six 0.5 s waits, overlapped in two stages (3 s if serial)


def test_intermediate_outlet_writes_the_file(tmp_path):
    (tmp_path / "outputs").mkdir()
    run_example("intermediate_outlet.py", 0.5, cwd=tmp_path)
    lines = (tmp_path / "outputs" / "random_ints.txt").read_text().splitlines()
    assert lines and all(0 <= int(line) <= 100 for line in lines)


def test_processors_filter_then_round():
    lines = run_example("processors.py", 0.3).stdout.splitlines()
    assert lines[:2] == ["processors.0 200", "processors.0 333"]


def test_groupers_push_one_batch_per_name():
    lines = run_example("groupers.py", 0.3).stdout.splitlines()
    assert lines[:2] == [
        "groupers.0 [{'name': 'a', 'value': 1}, {'name': 'a', 'value': 2}]",
        "groupers.0 [{'name': 'b', 'value': 3}, {'name': 'b', 'value': 4}]",
    ]


def test_buffers_release_eleven_records_on_the_third_transfer_and_flush_at_the_end():
    lines = run_example("buffers.py", 1.2).stdout.splitlines()
    assert lines[0] == "buffers.2 received 11 records"
    assert lines[-1].endswith("records")
    total = sum(int(line.split()[2]) for line in lines)
    assert total >= 11  # everything produced was delivered, the rest by the final flush
