"""Package attributes imported on first access (PEP 562), so that importing a package is cheap.

A public module: a plugin's ``__init__.py`` names what it exports and where each name is
defined, and importing the package imports none of those modules (nor the client library
they use) until a name is used::

    from databay.lazy import lazy_exports

    __version__ = "1.0.0"

    __getattr__, __dir__, __all__ = lazy_exports(__name__, {
        "databay_kafka.outlet": ["KafkaOutlet"],
        "databay_kafka.errors": ["KafkaError", "KafkaConnectionError"],
    })

``from databay_kafka import KafkaOutlet`` then imports ``databay_kafka.outlet``, and
``databay plugins`` lists the plugin without importing Kafka's client.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_attributes", "lazy_exports"]


def lazy_exports(
    package: str, modules: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``, which exports the names
    ``modules`` lists under the module defining them (``{"pkg.errors": ["PkgError"]}``).

    Each name is imported on first access, then kept in the package; ``__all__`` is the
    exported names, sorted. Give the package's other public names (``__version__``) as usual.
    """
    targets = {name: module for module, names in modules.items() for name in names}
    getattr_, dir_ = lazy_attributes(package, targets)
    return getattr_, dir_, sorted(targets)


def lazy_attributes(package: str, targets: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose attributes ``targets`` maps to
    the modules defining them: each is imported on first access, then kept in the package."""

    def __getattr__(name: str) -> Any:
        module = targets.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(targets))

    return __getattr__, __dir__
