"""Finding the installed plugin distributions: the entry points of the ``databay`` group.

importlib-metadata reads them. Importing it and reading the metadata of every
distribution on ``sys.path`` would take a quarter of ``databay plugins``' start-up, so what
it finds is kept in a cache (:mod:`databay.plugins.entry_point_cache`) and reused for as
long as no folder on ``sys.path`` changes, which installing or removing a distribution
always does.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import databay.plugins.entry_point_cache as entry_point_cache

GROUP = "databay"
"""The entry-point group plugin distributions list their plugin modules under."""


@dataclass(frozen=True)
class PluginEntryPoint:
    """One entry point of the ``databay`` group, and the distribution declaring it.

    :param name: the entry point's name (``http`` in ``http = "databay_http.plugin"``).
    :param module: the module it names.
    :param attr: the attribute of that module it names (``""``: the module itself).
    :param distribution: the distribution's name, as its metadata spells it.
    :param version: the distribution's version.
    """

    name: str
    module: str
    attr: str
    distribution: str
    version: str

    @property
    def value(self) -> str:
        """``module`` or ``module:attr``, as the entry point is written."""
        return f"{self.module}:{self.attr}" if self.attr else self.module

    def load(self) -> Any:
        """Import the module (and look up the attribute) the entry point names."""
        value: Any = importlib.import_module(self.module)
        for part in filter(None, self.attr.split(".")):
            value = getattr(value, part)
        return value


def entry_points() -> list[PluginEntryPoint]:
    """The ``databay`` entry points of the installed distributions, sorted by distribution
    and name; one per distribution name and entry point (the first on ``sys.path`` wins)."""
    key = entry_point_cache.current_key()
    if key is not None:
        cached = entry_point_cache.read(key)
        if cached is not None:
            return [PluginEntryPoint(*fields) for fields in cached]
    found = _read_metadata()
    if key is not None:
        entry_point_cache.write(key, [(ep.name, ep.module, ep.attr, ep.distribution, ep.version) for ep in found])
    return found


def _read_metadata() -> list[PluginEntryPoint]:
    import importlib_metadata

    found = []
    for entry_point in importlib_metadata.entry_points(group=GROUP):
        dist = entry_point.dist
        found.append(PluginEntryPoint(
            entry_point.name, entry_point.module, entry_point.attr or "",
            dist.name if dist is not None else entry_point.name,
            dist.version if dist is not None else "unknown",
        ))
    return sorted(found, key=lambda ep: (ep.distribution, ep.name))


def is_installed(distribution: str) -> bool:
    """Whether a distribution of that name is installed (any spelling of the name)."""
    import importlib_metadata

    try:
        importlib_metadata.distribution(distribution)
    except importlib_metadata.PackageNotFoundError:
        return False
    return True
