"""Plugin discovery as a user meets it: distributions installed into a fresh venv."""

from __future__ import annotations

import json
import textwrap

import pytest


@pytest.fixture(scope="module")
def user_env(tmp_path_factory, make_venv, repo, fixture_plugins):
    """Core plus a working, a broken and a clashing third-party plugin, as `pip install` leaves them."""
    path = tmp_path_factory.mktemp("venv") / "env"
    return make_venv(path, repo / "core", *(fixture_plugins / name for name in
                                           ("databay-example", "databay-broken", "databay-clash")))


def plugins_json(environment, **kwargs) -> dict:
    result = environment.databay("plugins", "--json", **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def by_name(listing: dict) -> dict:
    return {plugin["name"]: plugin for plugin in listing["plugins"]}


def test_plugins_json_lists_every_distribution_with_what_it_registers(user_env):
    plugins = by_name(plugins_json(user_env))
    assert set(plugins) == {"databay", "databay-example", "databay-broken", "databay-clash"}
    example = plugins["databay-example"]
    assert example["version"] == "0.1.0"
    assert example["error"] is None
    assert [o["name"] for o in example["outlets"]] == ["upper"]
    assert example["outlets"][0]["class"] == "UpperOutlet"
    assert [i["name"] for i in example["inlets"]] == ["counter"]
    core = plugins["databay"]
    assert {i["name"] for i in core["inlets"]} == {"null", "random_int", "file"}
    assert {o["name"] for o in core["outlets"]} == {"null", "print", "file"}
    assert [p["name"] for p in core["planners"]] == ["schedule"]
    assert [p["name"] for p in core["processors"]] == ["buffer"]


def test_a_broken_plugin_is_reported_and_the_others_still_load(user_env):
    plugins = by_name(plugins_json(user_env))
    broken = plugins["databay-broken"]
    assert "databay_missing_dependency" in broken["error"]
    assert broken["outlets"] == []
    assert plugins["databay-example"]["error"] is None
    table = user_env.databay("plugins")
    assert table.returncode == 0
    assert "databay-broken" in table.stdout and "broken" in table.stdout


def test_strict_mode_turns_a_broken_plugin_into_an_error(user_env):
    for result in (user_env.databay("plugins", env={"DATABAY_STRICT_PLUGINS": "1"}),
                   user_env.databay("--strict-plugins", "plugins")):
        assert result.returncode == 1
        assert "databay-broken" in result.stderr
        assert "databay_missing_dependency" in result.stderr
        assert "Traceback" not in result.stderr


def test_load_only_selected_plugins(user_env):
    only = by_name(plugins_json(user_env, env={"DATABAY_LOAD_PLUGINS": "databay-example"}))
    assert set(only) == {"databay", "databay-example"}
    none = by_name(plugins_json(user_env, env={"DATABAY_LOAD_PLUGINS": ""}))
    assert set(none) == {"databay"}


def test_listing_never_imports_a_component_module(user_env, tmp_path):
    marker = tmp_path / "imported"
    plugins_json(user_env, env={"DATABAY_EXAMPLE_IMPORT_MARKER": str(marker)})
    assert not marker.exists()
    user_env.databay("inspect", "upper", env={"DATABAY_EXAMPLE_IMPORT_MARKER": str(marker)})
    assert marker.exists()  # inspecting a component does import it


def test_inspect_shows_class_distribution_parameters_and_metadata_keys(user_env):
    result = user_env.databay("inspect", "upper", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["kind"] == "outlet"
    assert info["class"] == "databay_example.outlet:UpperOutlet"
    assert info["distribution"] == "databay-example"
    assert info["version"] == "0.1.0"
    params = {p["name"]: p for p in info["parameters"]}
    assert params["path"]["required"] is True and params["path"]["type"] == "str"
    assert params["encoding"]["default"] == "utf-8"
    assert "processors" in params  # inherited from Outlet through **kwargs
    assert info["metadata_keys"] == {"PREFIX": "UpperOutlet.PREFIX"}
    assert "upper-cased" in info["doc"]
    text = user_env.databay("inspect", "UpperOutlet")
    assert text.returncode == 0 and "databay-example" in text.stdout


def test_name_clash_names_both_distributions_and_qualified_names_pick_one(user_env):
    clash = plugins_json(user_env)["clashes"]
    assert {"kind": "outlet", "name": "print", "distributions": ["databay", "databay-clash"]} in clash
    result = user_env.databay("inspect", "print", "--kind", "outlet")
    assert result.returncode == 2
    assert "databay-clash" in result.stderr and "databay" in result.stderr
    assert "databay-clash:print" in result.stderr
    for qualified, cls in (("databay:print", "databay.outlets.print_outlet:PrintOutlet"),
                           ("databay-clash:print", "databay_clash.plugin:LoudPrintOutlet")):
        result = user_env.databay("inspect", qualified, "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["class"] == cls


def test_components_import_through_databay_modules_and_run_in_a_link(user_env, tmp_path):
    script = textwrap.dedent(
        f"""
        from databay import Link
        from databay.inlets import CounterInlet
        from databay.outlets import UpperOutlet
        link = Link(CounterInlet(count=3, metadata={{UpperOutlet.PREFIX: '> '}}),
                    UpperOutlet(path={str(tmp_path / 'out.txt')!r}), interval=1)
        link.transfer()
        link.transfer()
        """
    )
    result = user_env.run("python", "-c", script)
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "out.txt").read_text().splitlines()
    assert lines == [f"> ITEM-{i}" for i in range(6)]


def test_missing_first_party_plugin_says_what_to_install(user_env):
    result = user_env.run("python", "-c", "from databay.outlets import MongoOutlet")
    assert result.returncode == 1
    assert "pip install databay-mongo" in result.stderr
    result = user_env.run("python", "-c", "import databay.outlets as o; o.NoSuchOutlet")
    assert "AttributeError" in result.stderr and "NoSuchOutlet" in result.stderr


def test_check_gives_a_verdict_per_component_and_fails_on_any_problem(user_env):
    result = user_env.databay("plugins", "--check", "--json")
    assert result.returncode == 1
    verdicts = {v["subject"]: v for v in json.loads(result.stdout)}
    assert verdicts["databay-example:upper"]["ok"] and verdicts["databay:file"]["ok"]
    assert verdicts["databay-broken"]["kind"] == "plugin" and not verdicts["databay-broken"]["ok"]
    assert "is a function, not a subclass of databay.Outlet" in verdicts["databay-clash:not_an_outlet"]["detail"]
    assert "does not import" in verdicts["databay-clash:ghost"]["detail"]
    assert "also registered by another distribution" in verdicts["databay-clash:print"]["detail"]
    text = user_env.databay("plugins", "--check")
    assert verdicts["databay:sqlite"]["ok"] and verdicts["databay:sqlite"]["kind"] == "stage"
    assert text.returncode == 1 and "FAIL" in text.stdout and "10 passed, 5 failed" in text.stdout
    clean = user_env.databay("plugins", "--check", env={"DATABAY_LOAD_PLUGINS": "databay-example"})
    assert clean.returncode == 0, clean.stdout
    assert "0 failed" in clean.stdout


def test_validate_says_what_to_install_for_a_first_party_plugin_that_is_missing(user_env, tmp_path):
    pipeline = tmp_path / "p.toml"
    pipeline.write_text("[[links]]\ninterval = 1\ninlets = [{ use = 'http', url = 'http://x' }]\n"
                        "outlets = ['null']\n")
    result = user_env.databay("validate", str(pipeline))
    assert result.returncode == 2
    assert result.stderr.splitlines()[1] == (
        "  links[0].inlets[0] (http): unknown inlet 'http': it is provided by databay-http, which is not "
        "installed (pip install databay-http) (line 3)")
