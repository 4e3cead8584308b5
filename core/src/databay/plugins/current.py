"""The process-wide plugin manager, loaded on first use as the environment says.

- ``DATABAY_LOAD_PLUGINS=a,b`` loads only those plugin distributions (empty: none but the
  built-ins).
- ``DATABAY_STRICT_PLUGINS=1`` turns a broken plugin into a :class:`~databay.errors.PluginError`.
"""

from __future__ import annotations

import os
import threading

from databay.plugins.manager import PluginManager, plugins_changed
from databay.plugins.registry import normalize


def settings_from_environment() -> tuple[set[str] | None, bool]:
    """``(load_only, strict)`` from ``DATABAY_LOAD_PLUGINS`` and ``DATABAY_STRICT_PLUGINS``."""
    raw = os.environ.get("DATABAY_LOAD_PLUGINS")
    load_only = None if raw is None else {normalize(n.strip()) for n in raw.split(",") if n.strip()}
    strict = os.environ.get("DATABAY_STRICT_PLUGINS", "").strip().lower() in {"1", "true", "yes", "on"}
    return load_only, strict


_manager: PluginManager | None = None
_manager_lock = threading.RLock()


def get_plugin_manager(strict: bool | None = None) -> PluginManager:
    """The process-wide plugin manager, loaded on first use.

    :param strict: override ``DATABAY_STRICT_PLUGINS`` (only effective on first load).
    """
    global _manager
    with _manager_lock:
        if _manager is None:
            load_only, env_strict = settings_from_environment()
            manager = PluginManager(load_only, env_strict if strict is None else strict)
            _manager = manager.load()
        return _manager


def load_plugins() -> PluginManager:
    """Load the installed plugins now (they load on first use otherwise); the plugin manager."""
    return get_plugin_manager()


def set_plugin_manager(manager: PluginManager | None) -> None:
    """Make ``manager`` the process-wide plugin manager (for tests and embedding).

    ``None`` forgets the loaded plugins: the next use loads them again.
    """
    global _manager
    with _manager_lock:
        _manager = manager
    plugins_changed()


def reset_plugin_manager() -> None:
    """Forget the loaded plugins; the next use loads them again (for tests)."""
    set_plugin_manager(None)
