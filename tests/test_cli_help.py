"""The help of every command taking a pipeline says what a pipeline file can be: TOML or YAML."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("command", ["validate", "run", "stage", "schedule"])
def test_pipeline_argument_help_names_both_formats(installed, command):
    result = installed.databay(command, "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # as wrapped at any width
    assert "(TOML)" not in text
    assert "The pipeline file: TOML, or YAML (.yaml/.yml, databay[yaml])." in text
