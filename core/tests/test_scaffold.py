"""``databay plugin new``'s generator: names, every choice of components, never overwriting.

The generated tests are run here too (against the package on ``sys.path``); that the
generated distribution builds, installs and registers its components is checked end to
end in ``tests/test_plugin_scaffold.py``.
"""

from __future__ import annotations

import ast
import itertools
import os
import subprocess
import sys
import tomllib

import pytest
from databay import __version__
from databay.scaffold import (
    KINDS,
    FileExistsScaffoldError,
    PluginNames,
    ScaffoldError,
    generate,
    render_files,
)


@pytest.mark.parametrize(
    "name, short, distribution, package, prefix",
    [
        ("kafka", "kafka", "databay-kafka", "databay_kafka", "Kafka"),
        ("my-source", "my_source", "databay-my-source", "databay_my_source", "MySource"),
        ("my_source2", "my_source2", "databay-my-source2", "databay_my_source2", "MySource2"),
        ("databay-kafka", "kafka", "databay-kafka", "databay_kafka", "Kafka"),
        ("class", "class_", "databay-class", "databay_class", "Class"),
    ],
)
def test_names_derive_from_the_short_name(name, short, distribution, package, prefix):
    assert PluginNames.from_name(name) == PluginNames(short, distribution, package, prefix)


@pytest.mark.parametrize("name", ["Kafka", "my source", "2fast", "-x", "x--y", "kafka!", "", "databay-", "ünï"])
def test_invalid_names_say_what_a_name_may_be(name):
    with pytest.raises(ScaffoldError, match="invalid plugin name") as caught:
        PluginNames.from_name(name)
    assert "lowercase letters and digits" in str(caught.value)


def test_an_invalid_name_comes_with_a_suggestion_when_there_is_one():
    with pytest.raises(ScaffoldError, match="like 'my-source'"):
        PluginNames.from_name("My Source")


def test_first_party_names_are_taken():
    with pytest.raises(ScaffoldError, match="taken by the first-party plugin databay-http"):
        PluginNames.from_name("http")


CHOICES = [combo for n in range(1, 4) for combo in itertools.combinations(KINDS, n)]


@pytest.mark.parametrize("kinds", CHOICES, ids="+".join)
def test_every_choice_renders_a_complete_distribution(kinds):
    names = PluginNames.from_name("demo")
    files = render_files(names, kinds, author="Ada", email="ada@example.org")
    expected = {"pyproject.toml", "README.md", "LICENSE", ".gitignore", "examples/pipeline.toml",
                "src/databay_demo/__init__.py", "src/databay_demo/plugin.py", "src/databay_demo/py.typed",
                "tests/test_plugin.py", "tests/test_pipeline.py",
                *(f"src/databay_demo/{k}.py" for k in kinds), *(f"tests/test_{k}.py" for k in kinds)}
    assert set(files) - {"examples/events.jsonl"} == expected
    for path, text in files.items():
        if path.endswith(".py"):
            ast.parse(text, path)
    project = tomllib.loads(files["pyproject.toml"])["project"]
    assert project["name"] == "databay-demo"
    assert project["entry-points"]["databay"] == {"demo": "databay_demo.plugin"}
    assert project["dependencies"] == [f"databay>={__version__},<2"]
    assert "pytest>=8" in project["optional-dependencies"]["test"]
    assert project["license"] == "MIT" and project["authors"] == [{"name": "Ada", "email": "ada@example.org"}]
    plugin = files["src/databay_demo/plugin.py"]
    for kind in KINDS:
        registered = f'register("demo", "databay_demo.{kind}:Demo{kind.capitalize()}")' in plugin
        assert registered == (kind in kinds)
        assert (f"Demo{kind.capitalize()}" in files["README.md"]) == (kind in kinds)
    pipeline = tomllib.loads(files["examples/pipeline.toml"])
    assert pipeline["planner"]["use"] == ("demo" if "planner" in kinds else "schedule")
    assert pipeline["links"][0]["inlets"][0]["use"] == ("demo" if "inlet" in kinds else "random_int")
    assert "Copyright (c)" in files["LICENSE"] and "Ada" in files["LICENSE"]


def test_descriptions_are_escaped_for_toml_and_python():
    files = render_files(PluginNames.from_name("demo"), ("outlet",), description='A "quoted"\n summary')
    assert tomllib.loads(files["pyproject.toml"])["project"]["description"] == 'A "quoted" summary'
    files = render_files(PluginNames.from_name("demo"), ("outlet",), description='C:\\path """')
    assert tomllib.loads(files["pyproject.toml"])["project"]["description"] == 'C:\\path """'
    assert ast.get_docstring(ast.parse(files["src/databay_demo/__init__.py"])).startswith('databay-demo: C:\\path """')


def test_kinds_must_be_chosen_among_inlet_outlet_planner():
    with pytest.raises(ScaffoldError, match="not processor"):
        render_files(PluginNames.from_name("demo"), ("processor",))
    with pytest.raises(ScaffoldError, match="not nothing"):
        render_files(PluginNames.from_name("demo"), ())


def test_existing_files_are_never_overwritten_and_nothing_is_written(tmp_path):
    (tmp_path / "README.md").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsScaffoldError) as caught:
        generate("demo", tmp_path, ("inlet",))
    assert caught.value.path == tmp_path / "README.md"
    assert str(tmp_path / "README.md") in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "mine"


def test_generate_writes_into_a_new_folder_named_after_the_distribution(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root, written = generate("demo")
    assert root.name == "databay-demo"
    assert (tmp_path / "databay-demo" / "src" / "databay_demo" / "outlet.py") in [p.absolute() for p in written]


@pytest.mark.parametrize("kind", KINDS)
def test_the_generated_tests_pass(tmp_path, kind):
    """The component tests of each kind (test_plugin.py and test_pipeline.py need the
    distribution installed: tests/test_plugin_scaffold.py runs them)."""
    root, _ = generate("demo-kind", tmp_path / "project", (kind,))
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    env.pop("DATABAY_LOAD_PLUGINS", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"tests/test_{kind}.py"],
        cwd=root, capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout and "skipped" not in result.stdout
