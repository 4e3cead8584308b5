"""`databay plugin new`: what a user types for the author, e-mail and description never breaks the files."""

from __future__ import annotations

import tomllib

import pytest


@pytest.mark.parametrize("option, value", [
    ("--author", 'Ada\nname = "Mallory"'),
    ("--author", "Ada\x1b[2J"),
    ("--email", "ada@example.org\r\nx"),
    ("--description", "A summary\x07with a bell"),
])
def test_control_characters_are_refused_and_nothing_is_written(installed, tmp_path, option, value):
    result = installed.databay("plugin", "new", "tides", "--directory", str(tmp_path / "out"), option, value)
    assert result.returncode == 2
    assert result.stderr.startswith(f"Error: {option} must be one line of text without control characters")
    assert result.stderr.count("\n") == 1 and "\x1b" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_quotes_backslashes_and_a_wrapped_description_make_valid_toml(installed, tmp_path):
    result = installed.databay("plugin", "new", "tides", "--directory", str(tmp_path / "out"),
                               "--author", 'Ada "the Countess" L\\ovelace', "--email", "ada@example.org",
                               "--description", "Tide tables\n  for harbours")
    assert result.returncode == 0, result.stderr
    project = tomllib.loads((tmp_path / "out" / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["authors"] == [{"name": 'Ada "the Countess" L\\ovelace', "email": "ada@example.org"}]
    assert project["description"] == "Tide tables for harbours"
