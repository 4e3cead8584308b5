"""The README's example runs (against moto, started by the example) and prints what the README says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_example_prints_its_documented_output(tmp_path) -> None:
    section = README.read_text(encoding="utf-8").split("## Example", 1)[1]
    code, output = re.search(r"```python\n(.*?)```.*?Output:\n\n```\n(.*?)```", section, re.S).groups()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == output
