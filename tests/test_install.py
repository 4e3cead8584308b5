"""`databay install` / `databay uninstall` in a fresh venv that starts with only core."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def core_env(tmp_path_factory, make_venv, repo):
    """A venv with core only; the tests install into it and leave it as they found it."""
    return make_venv(tmp_path_factory.mktemp("install") / "env", repo / "core")


def plugin_names(environment) -> set[str]:
    result = environment.databay("plugins", "--json")
    assert result.returncode == 0, result.stderr
    return {plugin["name"] for plugin in json.loads(result.stdout)["plugins"]}


def test_install_a_local_plugin_shows_what_it_registers_and_uninstall_removes_it(core_env, fixture_plugins):
    assert plugin_names(core_env) == {"databay"}
    result = core_env.databay("install", str(fixture_plugins / "databay-example"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Successfully installed databay-example-0.1.0" in result.stdout  # pip's own output, streamed
    assert "Installed plugins" in result.stdout
    table = result.stdout.split("Installed plugins", 1)[1]
    assert "databay-example" in table and "counter" in table and "upper" in table
    assert "random_int" not in table  # only what was installed, not core's built-ins
    assert plugin_names(core_env) == {"databay", "databay-example"}

    declined = core_env.databay("uninstall", "databay-example")  # no terminal: the question gets no "y"
    assert declined.returncode == 1
    assert "databay-example 0.1.0 (inlets: counter; outlets: upper)" in declined.stdout
    assert plugin_names(core_env) == {"databay", "databay-example"}

    result = core_env.databay("uninstall", "--yes", "Databay_Example")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Successfully uninstalled databay-example-0.1.0" in result.stdout
    assert plugin_names(core_env) == {"databay"}


def hatchling_project(folder: Path, name: str, init: str = "", entry_point: str | None = None) -> Path:
    """A project ``name`` (version 1.0) in ``folder``, built by hatchling: one package whose
    ``__init__.py`` holds ``init``, registered as the databay plugin ``entry_point`` if given."""
    project, package = folder / name, name.replace("-", "_")
    (project / "src" / package).mkdir(parents=True)
    (project / "src" / package / "__init__.py").write_text(init, encoding="utf-8")
    plugin = f'[project.entry-points.databay]\n{entry_point} = "{package}"\n\n' if entry_point else ""
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling>=1.21"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\n\n{plugin}'
        f'[tool.hatch.build.targets.wheel]\npackages = ["src/{package}"]\n', encoding="utf-8")
    return project


@pytest.mark.parametrize("name", ["databay", "Databay", "DATABAY", "databay==1.0", "databay[cli]", "pluggy"])
def test_uninstall_refuses_databay_itself_and_what_it_needs(core_env, name):
    result = core_env.databay("uninstall", "--yes", name)
    assert result.returncode == 2
    assert result.stderr.startswith(f"Error: refusing to uninstall '{name}'")
    assert "Traceback" not in result.stderr
    assert core_env.databay("--version").returncode == 0


def test_uninstall_something_not_installed_exits_2_before_pip_runs(core_env):
    result = core_env.databay("uninstall", "--yes", "databay-not-installed")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("Error: databay-not-installed is not installed in databay's environment")


def test_a_pip_failure_is_one_error_with_pip_s_reason(core_env, tmp_path):
    (tmp_path / "not-a-project").mkdir()  # a folder without pyproject.toml or setup.py
    result = core_env.databay("install", str(tmp_path / "not-a-project"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(error) == 1 and "pip could not install" in error[0] and "not-a-project" in error[0]
    assert plugin_names(core_env) == {"databay"}


@pytest.mark.parametrize("arguments", [
    ["--", "-r", "REQUIREMENTS"], ["--", "-rREQUIREMENTS"], ["--", "--target=TARGET", "databay-example"],
    ["--", "--index-url=http://127.0.0.1:9/simple", "databay-example"], ["https://127.0.0.1:9/x-1.0-py3-none-any.whl"],
    ["databay==0.3.0"],
])
def test_install_never_hands_pip_an_option(core_env, tmp_path, fixture_plugins, arguments):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"{fixture_plugins / 'databay-example'}\n")
    given = [a.replace("REQUIREMENTS", str(requirements)).replace("TARGET", str(tmp_path / "t")) for a in arguments]
    result = core_env.databay("install", *given)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr
    assert "Collecting" not in result.stdout and not (tmp_path / "t").exists()  # pip never ran
    assert plugin_names(core_env) == {"databay"}


def test_uninstall_refuses_pip(core_env):
    result = core_env.databay("uninstall", "--yes", "pip")
    assert result.returncode == 2
    assert result.stderr.startswith("Error: refusing to uninstall 'pip'")
    assert core_env.run("python", "-m", "pip", "--version").returncode == 0


def test_installing_something_that_is_not_a_plugin_says_so(core_env, tmp_path):
    project = hatchling_project(tmp_path, "not-a-plugin")
    result = core_env.databay("install", str(project))
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "No databay plugin was installed" in result.stdout
    finally:
        assert core_env.databay("uninstall", "-y", "not-a-plugin").returncode == 0


def test_a_broken_plugin_is_installed_and_reported(core_env, fixture_plugins):
    result = core_env.databay("install", str(fixture_plugins / "databay-broken"))
    try:
        assert result.returncode == 1
        assert "databay-broken" in result.stdout and "broken" in result.stdout
        assert "Error: installed, but broken: databay-broken" in result.stderr
        assert "databay_missing_dependency" in result.stderr
    finally:
        assert core_env.databay("uninstall", "--yes", "databay-broken").returncode == 0


def test_what_install_reports_about_a_plugin_is_escaped(core_env, tmp_path):
    """A plugin's import error is input: a newline or escape sequence in it is shown escaped."""
    hostile = "x\nFORGED line\x1b[2J\x1b]0;pwned\x07"
    project = hatchling_project(tmp_path, "databay-hostile", init=f"raise ImportError({hostile!r})\n",
                                entry_point="hostile")
    result = core_env.databay("install", str(project))
    try:
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Error: installed, but broken: databay-hostile" in result.stderr
        assert "x\\nFORGED line\\x1b[2J\\x1b]0;pwned\\x07" in result.stderr
        assert "\x1b" not in result.stdout + result.stderr and "\nFORGED" not in result.stdout + result.stderr
    finally:
        assert core_env.databay("uninstall", "--yes", "databay-hostile").returncode == 0
