"""A planner's arguments whose bounds are not in their type hints are checked by ``validate``
too, with their place, not only when the planner is built (issue 10, item 9)."""

from __future__ import annotations

import json

import pytest

LINK = '\n[[links]]\ninterval = 1\ninlets = ["null"]\noutlets = ["null"]\n'


@pytest.mark.parametrize("planner, value", [("schedule", "0"), ("schedule", "-3"), ("aps", "0")])
@pytest.mark.parametrize("command", [["validate"], ["run", "--once"]])
def test_threads_must_be_positive(installed, tmp_path, planner, value, command):
    (tmp_path / "p.toml").write_text(f'[planner]\nuse = "{planner}"\nthreads = {value}\n' + LINK, encoding="utf-8")
    result = installed.databay(*command, "p.toml", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"planner ({planner}): argument 'threads' must be a positive int, not int ({value}) (line 3)" in result.stderr
    assert "could not be built" not in result.stderr and "Traceback" not in result.stderr


def test_validate_json_reports_it(installed, tmp_path):
    (tmp_path / "p.toml").write_text("[planner]\nthreads = 0\n" + LINK, encoding="utf-8")
    result = installed.databay("validate", "--json", "p.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert json.loads(result.stdout)["problems"] == [
        {"place": "planner (schedule)", "message": "argument 'threads' must be a positive int, not int (0)", "line": 2}]


def test_a_positive_number_of_threads_is_fine(installed, tmp_path):
    (tmp_path / "p.toml").write_text("[planner]\nthreads = 2\n" + LINK, encoding="utf-8")
    result = installed.databay("validate", "p.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
