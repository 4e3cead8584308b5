"""How a stage names a link's inlets and outlets: by class name, ``#2``, ``#3``... for the
repeats of a class, so that a name stays the same when nodes of other classes are added
or removed (``docs/reliability.md``)."""

from __future__ import annotations

from typing import Any

__all__ = ["node_keys", "numbered", "outlet_keys"]


def numbered(class_names: list[str]) -> list[str]:
    """Class names, with ``#2``, ``#3``... for the repeats of a class.

    ``[CsvOutlet, MongoOutlet, CsvOutlet]`` -> ``['CsvOutlet', 'MongoOutlet', 'CsvOutlet#2']``.
    """
    seen: dict[str, int] = {}
    keys = []
    for name in class_names:
        count = seen[name] = seen.get(name, 0) + 1
        keys.append(name if count == 1 else f"{name}#{count}")
    return keys


def node_keys(nodes: list) -> list[str]:
    """How a stage names ``nodes`` (a link's inlets or outlets): see :func:`numbered`."""
    return numbered([type(node).__name__ for node in nodes])


def outlet_keys(link: Any) -> list[str]:
    """The names ``link``'s stage gives the outlets it holds batches for: a fill link's
    ``stage_outlets`` (its outlets are another process's), else :func:`node_keys` of its
    outlets."""
    if getattr(link, "stage_role", "both") == "fill":
        return list(link.stage_outlets)
    return node_keys(list(link.outlets))
