"""databay.lazy: a package's exports imported on first access, by the module defining them."""

from __future__ import annotations

import sys
import textwrap
import uuid

import pytest


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package ``pkg_<unique>`` exporting ``Thing`` from ``.things`` and two errors from ``.errors``."""
    name = f"pkg_{uuid.uuid4().hex[:10]}"
    folder = tmp_path / name
    folder.mkdir()
    (folder / "__init__.py").write_text(textwrap.dedent(f"""
        from databay.lazy import lazy_exports

        __version__ = "1.0"

        __getattr__, __dir__, __all__ = lazy_exports(__name__, {{
            "{name}.things": ["Thing"],
            "{name}.errors": ["PkgError", "OtherError"],
        }})
    """))
    (folder / "things.py").write_text("class Thing:\n    pass\n")
    (folder / "errors.py").write_text("class PkgError(Exception):\n    pass\n\n\nclass OtherError(PkgError):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


def test_importing_the_package_imports_no_exporting_module(package):
    imported = __import__(package)
    assert imported.__version__ == "1.0"
    assert f"{package}.things" not in sys.modules
    assert f"{package}.errors" not in sys.modules


def test_a_name_imports_its_module_only(package):
    imported = __import__(package)
    thing = imported.Thing
    assert thing is sys.modules[f"{package}.things"].Thing
    assert f"{package}.errors" not in sys.modules
    assert vars(imported)["Thing"] is thing  # kept: the next access does not go through __getattr__


def test_all_and_dir_name_the_exports(package):
    imported = __import__(package)
    assert imported.__all__ == ["OtherError", "PkgError", "Thing"]
    assert {"OtherError", "PkgError", "Thing", "__version__"} <= set(dir(imported))
    assert f"{package}.errors" not in sys.modules
    namespace: dict = {}
    exec(f"from {package} import *", namespace)
    assert issubclass(namespace["OtherError"], namespace["PkgError"])


def test_an_unknown_name_is_an_attribute_error(package):
    imported = __import__(package)
    with pytest.raises(AttributeError, match=rf"module '{package}' has no attribute 'Nothing'"):
        imported.Nothing  # noqa: B018
    with pytest.raises(ImportError):
        exec(f"from {package} import Nothing", {})
