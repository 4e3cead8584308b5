"""Only the import strings a pipeline names are looked up beside it, and nothing shadows an
installed module (issue 10, item 1)."""

from __future__ import annotations

import sys
import textwrap
import types

import pytest
from databay import hookimpl, load_pipeline
from databay.pipeline import PipelineError, check_pipeline
from databay.plugins import PluginManager

# Writes a marker file when imported: the proof that code beside the pipeline ran.
TRAP = "import pathlib; pathlib.Path(__file__).with_name('{name}.ran').write_text('ran')\n"


def trap(folder, name: str) -> None:
    (folder / f"{name}.py").write_text(TRAP.format(name=name) + "def keep(records):\n    return records\n")


def ran(folder, name: str) -> bool:
    return (folder / f"{name}.ran").exists()


@pytest.fixture
def lazy_plugin_manager():
    """A plugin registering an inlet lazily, from a module that is not installed."""
    plugin = types.ModuleType("lazy_plugin")

    @hookimpl
    def databay_register_inlets(register):
        register("lazy", "databay_trap_not_installed.inlet:LazyInlet")

    plugin.databay_register_inlets = databay_register_inlets
    manager = PluginManager().load()
    manager.register(plugin, "databay-lazy")
    return manager


def pipeline_text(inlet: str, processors: str = "[]") -> str:
    return textwrap.dedent(f"""
        [[links]]
        interval = 1
        inlets = ["{inlet}"]
        outlets = ["null"]
        processors = {processors}
    """)


@pytest.mark.parametrize("cwd_too", [False, True])
def test_a_module_a_plugin_imports_is_never_looked_up_beside_the_pipeline(
        tmp_path, monkeypatch, lazy_plugin_manager, cwd_too):
    (tmp_path / "databay_trap_not_installed").mkdir()
    trap(tmp_path / "databay_trap_not_installed", "__init__")
    trap(tmp_path / "databay_trap_not_installed", "inlet")
    if cwd_too:
        monkeypatch.chdir(tmp_path)
    path = tmp_path / "pipeline.toml"
    path.write_text(pipeline_text("lazy"))
    with pytest.raises(PipelineError) as caught:
        check_pipeline(path, plugins=lazy_plugin_manager)
    [problem] = caught.value.problems
    assert problem.place == "links[0].inlets[0] (lazy)"
    assert "cannot be imported from databay_trap_not_installed.inlet" in problem.message
    assert not ran(tmp_path / "databay_trap_not_installed", "__init__")
    assert "databay_trap_not_installed" not in sys.modules
    assert str(tmp_path) not in sys.path


def test_a_module_named_by_the_pipeline_is_imported_from_its_folder(tmp_path):
    trap(tmp_path, "databay_trap_steps")
    path = tmp_path / "pipeline.toml"
    path.write_text(pipeline_text("null", '["databay_trap_steps:keep"]'))
    try:
        [link] = load_pipeline(path).links
        assert ran(tmp_path, "databay_trap_steps")
        assert link.processors[0].__module__ == "databay_trap_steps"
        assert str(tmp_path) not in sys.path  # only while importing it
    finally:
        sys.modules.pop("databay_trap_steps", None)


def test_a_file_beside_the_pipeline_never_shadows_an_installed_module(tmp_path, monkeypatch):
    # statistics (standard library) is installed: the pipeline's import string gets it, never the file.
    # (statistics.median takes one argument, as a processor must.)
    sys.modules.pop("statistics", None)
    trap(tmp_path, "statistics")
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "pipeline.toml"
    path.write_text(pipeline_text("null", '["statistics:median"]'))
    [link] = load_pipeline(path).links
    assert not ran(tmp_path, "statistics")
    assert link.processors[0].__module__ == "statistics"
