"""The file paths the components are given, checked."""

from __future__ import annotations

import os
from typing import Any


def checked_path(owner: str, value: Any, name: str, where: str = "") -> str:
    """``value`` (a ``str`` or ``os.PathLike``) as a ``str`` path.

    :raises ValueError: naming ``owner``, the argument ``name`` (``where`` it came from, if
        not the constructor) and ``value``, when it is no path or an empty one.
    """
    try:
        path = os.fspath(value)
    except TypeError:
        path = None
    if not isinstance(path, str) or not path:
        raise ValueError(f"{owner}: {name}{where} must be a non-empty path (str or os.PathLike), got {value!r}")
    return path
