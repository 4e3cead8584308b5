"""YAML support is an extra: core alone keeps its five dependencies and names the extra."""

from __future__ import annotations

import json

import pytest

YAML_PIPELINE = "links:\n  - interval: 1\n    inlets: ['null']\n    outlets: ['null']\n"
MESSAGE = "pipeline: YAML pipelines need the yaml extra: pip install 'databay[yaml]'"


@pytest.fixture(scope="module")
def core_only(tmp_path_factory, make_venv, repo):
    """A fresh venv with core and nothing else (no extra)."""
    return make_venv(tmp_path_factory.mktemp("core-only") / "env", repo / "core")


def test_core_depends_on_five_distributions_and_yaml_only_with_the_extra(core_only):
    script = ("import json; from importlib.metadata import requires; "
              "print(json.dumps(requires('databay')))")
    requirements = json.loads(core_only.run("python", "-c", script).stdout)
    plain = sorted(r.split(">")[0].split("=")[0].strip() for r in requirements if "extra ==" not in r)
    assert plain == ["importlib-metadata", "pluggy", "rich", "schedule", "typer"]
    assert [r for r in requirements if "extra ==" in r and "yaml" in r][0].lower().startswith("pyyaml>=")
    assert core_only.run("python", "-c", "import yaml").returncode == 1


@pytest.mark.parametrize("command", [["validate"], ["validate", "--json"], ["run", "--once"]])
def test_a_yaml_pipeline_without_the_extra_names_it(core_only, tmp_path, command):
    path = tmp_path / "pipeline.yml"
    path.write_text(YAML_PIPELINE)
    result = core_only.databay(*command, str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    if "--json" in command:
        assert json.loads(result.stdout)["problems"] == [
            {"place": "pipeline", "message": MESSAGE.removeprefix("pipeline: ")}]
    else:
        assert f"  {MESSAGE}" in result.stderr


def test_toml_pipelines_need_no_extra(core_only, tmp_path):
    path = tmp_path / "pipeline.toml"
    path.write_text("[[links]]\ninterval = 1\ninlets = ['null']\noutlets = ['null']\n")
    assert core_only.databay("validate", str(path)).returncode == 0
