"""What an installed plugin registers is checked before it is used, and found again after every install.

One fresh venv: core and ``databay-untrusted``, a plugin registering ``os:system`` as an
inlet, ``builtins:print`` as an outlet and ``builtins:eval`` as a processor (issue 10,
item 3). Then the entry-point cache meets ``pip install`` and ``pip uninstall``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest


@pytest.fixture(scope="module")
def untrusted_env(tmp_path_factory, make_venv, repo, fixture_plugins):
    path = tmp_path_factory.mktemp("venv") / "env"
    return make_venv(path, repo / "core", fixture_plugins / "databay-untrusted")


@pytest.fixture
def cache_home(tmp_path):
    """The entry-point cache of these runs, away from the user's."""
    return {"XDG_CACHE_HOME": str(tmp_path / "cache")}


SHELL_PROBLEM = ("inlet 'shell' of databay-untrusted: os:system is a built-in function, not a subclass of "
                 "databay.Inlet; a registered inlet must be a concrete subclass of databay.Inlet")


def pipeline(tmp_path, marker):
    path = tmp_path / "owned.toml"
    path.write_text(f'[[links]]\ninterval = 1\ninlets = [{{ use = "shell", command = "touch {marker}" }}]\n'
                    'outlets = ["null"]\n', encoding="utf-8")
    return path


def test_listing_imports_and_trusts_nothing(untrusted_env, cache_home):
    result = untrusted_env.databay("plugins", "--json", env=cache_home)
    assert result.returncode == 0, result.stderr
    plugin = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}["databay-untrusted"]
    assert plugin["error"] is None
    assert plugin["inlets"] == [{"name": "shell", "class": "system", "target": "os:system"}]


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_pipeline_using_it_is_invalid_and_nothing_runs(untrusted_env, tmp_path, command):
    marker = tmp_path / "owned"
    args = [command, str(pipeline(tmp_path, marker))] + (["--once"] if command == "run" else [])
    result = untrusted_env.databay(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"links[0].inlets[0] (shell): {SHELL_PROBLEM}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists()


def test_validate_json_reports_it_too(untrusted_env, tmp_path):
    result = untrusted_env.databay("validate", "--json", str(pipeline(tmp_path, tmp_path / "owned")))
    assert result.returncode == 2
    assert SHELL_PROBLEM in result.stdout


def test_plugins_check_fails_each_target_naming_the_plugin(untrusted_env):
    result = untrusted_env.databay("plugins", "--check", "--json")
    assert result.returncode == 1
    verdicts = {v["subject"]: v for v in json.loads(result.stdout) if v["distribution"] == "databay-untrusted"}
    assert {subject: v["ok"] for subject, v in verdicts.items()} == {
        "databay-untrusted:shell": False, "databay-untrusted:printer": False, "databay-untrusted:evaluate": False}
    assert verdicts["databay-untrusted:shell"]["detail"].startswith("os:system is a built-in function, not a subclass")
    assert "builtins:print is a built-in function, not a subclass of databay.Outlet" in (
        verdicts["databay-untrusted:printer"]["detail"])
    assert "builtins:eval is a built-in function, not a processor" in verdicts["databay-untrusted:evaluate"]["detail"]


def test_inspect_and_python_imports_refuse_it(untrusted_env):
    result = untrusted_env.databay("inspect", "shell")
    assert result.returncode == 1
    assert SHELL_PROBLEM in result.stderr and "Traceback" not in result.stderr
    result = untrusted_env.run("python", "-c", "from databay.inlets import system")
    assert result.returncode == 1
    assert f"ImportError: {SHELL_PROBLEM}" in result.stderr


def listed(environment, env) -> set[str]:
    result = environment.databay("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return {plugin["name"] for plugin in json.loads(result.stdout)["plugins"]}


def pip(environment, *args):
    result = subprocess.run([environment.python, "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr


def test_the_entry_point_cache_follows_installs_and_uninstalls(untrusted_env, cache_home, fixture_plugins):
    site = untrusted_env.run("python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    an_hour_ago = time.time() - 3600
    for folder in (site.stdout.strip(), str(untrusted_env.bin)):  # long settled: the listing is cached
        os.utime(folder, (an_hour_ago, an_hour_ago))
    assert listed(untrusted_env, cache_home) == {"databay", "databay-untrusted"}
    cache = os.path.join(cache_home["XDG_CACHE_HOME"], "databay")
    [cache_file] = os.listdir(cache)
    with open(os.path.join(cache, cache_file), encoding="utf-8") as file:
        assert "\tdatabay_untrusted.plugin\t" in file.read()
    assert listed(untrusted_env, cache_home) == {"databay", "databay-untrusted"}  # from the cache

    pip(untrusted_env, "install", "--no-deps", str(fixture_plugins / "databay-example"))
    assert listed(untrusted_env, cache_home) == {"databay", "databay-untrusted", "databay-example"}
    pip(untrusted_env, "uninstall", "--yes", "databay-example")
    assert listed(untrusted_env, cache_home) == {"databay", "databay-untrusted"}
