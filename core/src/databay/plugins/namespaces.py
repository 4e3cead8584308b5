"""``databay.inlets``, ``databay.outlets``, ``databay.planners``: components by class name.

databay 0.3 code imports components from these packages (``from databay.outlets import
MongoOutlet``) and from the modules that defined them there
(``databay.outlets.mongo_outlet``). Their module ``__getattr__`` resolves such names
through the registered components, and says which distribution to install when a
first-party plugin providing one is missing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from databay import catalog
from databay.errors import ComponentNotFoundError, PluginError
from databay.plugins.current import get_plugin_manager


def component_getattr(kind: str, module_name: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving registered components of ``kind`` by class name.

    Unknown names raise ``AttributeError``; names of components that a known but
    uninstalled distribution provides raise ``ImportError`` saying what to install.
    """

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        manager = get_plugin_manager()
        try:
            return manager.find(kind, name).load()
        except ComponentNotFoundError as exc:
            provider = catalog.provider_of(kind, name)
            if provider is not None and provider in manager.plugins:  # loaded but broken: the manager says so
                raise ImportError(str(exc), name=module_name) from None
            if provider is not None and manager.leaves_out(provider):
                raise ImportError(f"{name} is provided by the plugin distribution {provider}, which "
                                  f"DATABAY_LOAD_PLUGINS leaves out", name=module_name) from None
            if provider is not None:
                raise ImportError(
                    f"{name} is provided by the plugin distribution {provider}, which is not "
                    f"installed. Install it with: pip install {provider}",
                    name=module_name,
                ) from None
            raise AttributeError(f"module {module_name!r} has no attribute {name!r} ({exc})") from None
        except PluginError as exc:
            raise ImportError(str(exc), name=module_name) from None

    return __getattr__


def legacy_module_getattr(kind: str, class_name: str, module_name: str) -> Callable[[str], Any]:
    """A ``__getattr__`` for databay 0.3's module of a component that now lives in a plugin.

    ``from databay.outlets.mongo_outlet import MongoOutlet`` keeps working: the class is
    resolved through the plugins (an ``ImportError`` says what to install when none
    provides it), and any other name is looked up in the module that defines the class.
    """
    resolve = component_getattr(kind, module_name)

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        component = resolve(class_name)
        if name == class_name:
            return component
        try:
            return getattr(sys.modules[component.__module__], name)
        except AttributeError:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}") from None

    return __getattr__
