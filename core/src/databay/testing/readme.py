"""A check that a README's example runs and prints what the README says it prints.

A plugin's README shows an example and its output; a test keeps the two true::

    from pathlib import Path

    from databay.testing import check_readme_example

    README = Path(__file__).resolve().parent.parent / "README.md"

    def test_the_readme_example(tmp_path):
        check_readme_example(README, tmp_path)
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping

__all__ = ["check_readme_example"]


def check_readme_example(readme: str | os.PathLike[str], cwd: str | os.PathLike[str], *, heading: str = "## Example",
                         env: Mapping[str, str] | None = None, timeout: float = 60.0) -> None:
    """Run the first Python code block after the line ``heading`` of the Markdown file
    ``readme`` in this interpreter, and check that it exits with 0 and prints exactly the code
    block that follows the next ``Output:`` line (with no other code block between)::

        ## Example

        ```python
        print("hello")
        ```

        Output:

        ```
        hello
        ```

    :param readme: The Markdown file.
    :param cwd: The folder the example runs in (the files it writes go there), e.g. ``tmp_path``.
    :param heading: The whole line the example follows.
    :param env: The example's whole environment (default: this process's).
    :param timeout: Seconds the example may take.
    :raises AssertionError: there is no such example, or it failed, took too long or printed
        something else; the message says which, with what it printed.
    """
    where = os.fspath(readme)
    with open(readme, encoding="utf-8") as file:
        example = _example(file.read().splitlines(keepends=True), heading)
    if example is None:
        raise AssertionError(f"{where}: no line {heading!r} followed by a python block, 'Output:' and its block")
    code, output = example
    try:
        result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                                timeout=timeout, env=None if env is None else dict(env))
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{where}: the example did not end within {timeout} s") from None
    if result.returncode != 0:
        raise AssertionError(f"{where}: the example exited with {result.returncode}:\n{result.stderr}")
    if result.stdout != output:
        raise AssertionError(f"{where}: the example printed\n{result.stdout}\nbut the README says it prints\n{output}")


def _example(lines: list[str], heading: str) -> tuple[str, str] | None:
    """The code and the output of the example after the line ``heading``, if it has one."""
    rest = iter(lines)  # each search below goes on from where the one before stopped
    if not any(line.rstrip() == heading for line in rest):
        return None
    if not any(line.rstrip() == "```python" for line in rest):
        return None
    code = _block(rest)
    for line in rest:
        if line.startswith("```"):
            return None  # another code block before "Output:"
        if line.rstrip() == "Output:":
            opening = next((line for line in rest if line.strip()), None)
            return (code, _block(rest)) if opening is not None and opening.rstrip() == "```" else None
    return None


def _block(rest: Iterator[str]) -> str:
    """The lines of a code block, taken from ``rest`` up to its closing fence."""
    lines = []
    for line in rest:
        if line.rstrip() == "```":
            break
        lines.append(line)
    return "".join(lines)
