"""Plugins use only databay's public API (issue 11, item 5).

The first-party plugins' code and the ``databay plugin new`` templates import only the
public modules that ``docs/writing-plugins.md`` names; core and every plugin distribution
ship ``py.typed``.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from importlib import resources
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PLUGIN_SOURCES = sorted((REPO / "plugins").glob("databay-*/src"))

PUBLIC_MODULES = {"databay", "databay.errors", "databay.stage", "databay.stage.export", "databay.notifier",
                  "databay.redaction", "databay.printable", "databay.observers", "databay.service",
                  "databay.pipeline", "databay.schedules", "databay.engine_planner", "databay.processors",
                  "databay.testing", "databay.lazy"}
PUBLIC_NAMES = {"hookimpl", "Inlet", "Outlet", "Record", "Update", "MetadataKey", "Processor", "Link", "Calendar",
                "RetryPolicy", "BasePlanner", "load_pipeline"}


def databay_imports(source: str) -> list[tuple[int, str]]:
    """``(line, module)`` of every import of a ``databay`` module, wherever it is (functions, TYPE_CHECKING)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from databay import stage` imports the module databay.stage; `from databay
            # import load_pipeline` a name of the package
            modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names
                                       if is_module(f"{node.module}.{alias.name}")]
        else:
            continue
        found += [(node.lineno, module) for module in modules if module == "databay" or module.startswith("databay.")]
    return found


def is_module(name: str) -> bool:
    """Whether ``name`` (``databay.stage``, ``databay.load_pipeline``) is a module of databay."""
    if not name.startswith("databay."):
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a name inside a module: its parent is no package
        return False


def sources() -> list[tuple[str, str]]:
    """``(where, text)`` of the first-party plugins' modules and of what ``databay plugin new`` writes."""
    from databay.scaffold import KINDS, PluginNames, render_files

    files = [(str(path.relative_to(REPO)), path.read_text(encoding="utf-8"))
             for src in PLUGIN_SOURCES for path in sorted(src.rglob("*.py"))]
    generated = render_files(PluginNames.from_name("probe"), KINDS)
    files += [(f"databay plugin new: {path}", text) for path, text in sorted(generated.items()) if path.endswith(".py")]
    return files


def test_there_is_something_to_scan():
    scanned = [path for path, _ in sources()]
    assert len(PLUGIN_SOURCES) >= 5
    assert any(path.endswith("databay_http/plugin.py") for path in scanned)
    assert "databay plugin new: src/databay_probe/plugin.py" in scanned
    assert "databay plugin new: tests/test_outlet.py" in scanned


@pytest.mark.parametrize(("path", "text"), sources(), ids=[path for path, _ in sources()])
def test_plugin_code_imports_only_public_modules(path, text):
    private = [f"{path}:{line}: {module}" for line, module in databay_imports(text)
               if module not in PUBLIC_MODULES]
    assert not private, ("first-party plugin code imports private databay modules; use the public API "
                         "(docs/writing-plugins.md):\n" + "\n".join(private))


def test_the_scan_finds_private_imports():
    code = ("from databay import Inlet, hookimpl, stage, load_pipeline, load_plugins\n"
            "from databay import link, run\n"
            "from databay.inlet import Inlet\n"
            "import databay.engine\n"
            "def f():\n    from databay.plugins import get_plugin_manager\n")
    flagged = [module for _, module in databay_imports(code) if module not in PUBLIC_MODULES]
    assert flagged == ["databay.link", "databay.run", "databay.inlet", "databay.engine", "databay.plugins"]


def test_the_public_names_are_importable_from_databay():
    databay = importlib.import_module("databay")
    assert PUBLIC_NAMES <= set(databay.__all__)
    for name in PUBLIC_NAMES:
        assert getattr(databay, name) is not None
    for module in PUBLIC_MODULES:
        importlib.import_module(module)


def test_writing_plugins_names_the_public_modules():
    guide = (REPO / "docs" / "writing-plugins.md").read_text(encoding="utf-8")
    for module in PUBLIC_MODULES - {"databay"}:
        assert f"`{module}`" in guide, module
    for name in PUBLIC_NAMES:
        assert f"`{name}`" in guide, name


@pytest.mark.parametrize("package", ["databay"] + [src.parent.name.replace("-", "_") for src in PLUGIN_SOURCES])
def test_every_distribution_ships_py_typed(package):
    assert (REPO / ("core/src" if package == "databay" else f"plugins/{package.replace('_', '-')}/src")
            / package / "py.typed").is_file()
    installed = resources.files(package).joinpath("py.typed")  # as installed, e.g. from a wheel by nox
    assert installed.is_file()
