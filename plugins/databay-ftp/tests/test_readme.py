"""The README's example runs and prints what the README says it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_example_prints_its_documented_output(tmp_path) -> None:
    section = README.read_text(encoding="utf-8").split("## Example", 1)[1]
    code, output = re.search(r"```python\n(.*?)```.*?Output:\n\n```\n(.*?)```", section, re.S).groups()
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == output
