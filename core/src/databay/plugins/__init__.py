"""The plugin system (internal to databay: plugins use ``databay.hookimpl`` and the hooks of
:mod:`databay.hookspecs`, never this package).

Plugins are modules named by entry points of the ``databay`` group. One module per job:

- :mod:`~databay.plugins.discovery` finds the entry points (importlib-metadata, cached by
  :mod:`~databay.plugins.entry_point_cache`);
- :mod:`~databay.plugins.kinds` lists the component kinds: the hook registering each, and
  what a registered target must be;
- :mod:`~databay.plugins.registry` holds what was registered and finds a component by name;
- :mod:`~databay.plugins.manager` registers plugins with pluggy and calls their hooks,
  each plugin on its own;
- :mod:`~databay.plugins.current` keeps the process-wide manager, loaded as the
  environment says (``DATABAY_LOAD_PLUGINS``, ``DATABAY_STRICT_PLUGINS``);
- :mod:`~databay.plugins.namespaces` makes ``databay.inlets`` & co. resolve components;
- :mod:`~databay.plugins.checks` is ``databay plugins --check``.
"""

from databay.plugins.current import (
    get_plugin_manager,
    reset_plugin_manager,
    set_plugin_manager,
    settings_from_environment,
)
from databay.plugins.kinds import KIND_NAMES as KINDS
from databay.plugins.manager import PluginManager, when_plugins_change
from databay.plugins.registry import CORE_DISTRIBUTION, Component, PluginInfo, normalize

__all__ = [
    "CORE_DISTRIBUTION", "KINDS", "Component", "PluginInfo", "PluginManager", "get_plugin_manager", "normalize",
    "reset_plugin_manager", "set_plugin_manager", "settings_from_environment", "when_plugins_change",
]
