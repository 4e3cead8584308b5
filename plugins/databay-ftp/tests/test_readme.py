"""The README's example runs and prints what the README says it prints."""

from __future__ import annotations

from pathlib import Path

from databay.testing import check_readme_example

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_example_prints_its_documented_output(tmp_path) -> None:
    check_readme_example(README, tmp_path)
