"""The README's runnable example does what it says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_pause_resume_example():
    result = subprocess.run([sys.executable, str(EXAMPLES / "pause_resume.py")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    events = [line.split(maxsplit=1)[1] for line in result.stdout.splitlines()]
    paused, resumed = events.index("paused"), events.index("resumed")
    assert events[:paused] == ["transfer clock.0", "transfer clock.1", "transfer clock.2"]
    assert resumed == paused + 1  # nothing transferred while paused
    after = events[resumed + 1:-1]
    assert after[0] == "transfer clock.3" and 2 <= len(after) <= 4, events  # missed due times coalesced
    assert events[-1] == "shut down"
