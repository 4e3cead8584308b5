"""The README's example runs (against moto, started by the example) and prints what the README says."""

from __future__ import annotations

import os
from pathlib import Path

from databay.testing import check_readme_example

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_example_prints_its_documented_output(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    check_readme_example(README, tmp_path, env=env, timeout=120)
