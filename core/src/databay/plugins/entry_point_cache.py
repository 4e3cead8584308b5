"""A cache of the ``databay`` entry points, valid while the folders on ``sys.path`` are unchanged.

Installing, upgrading or removing a distribution adds or removes its ``*.dist-info``
folder in a ``sys.path`` entry, which changes that entry's modification time. So the
entry points importlib-metadata found are stored with the key they were found under: the
Python version and every ``sys.path`` entry with its modification time. A key that differs
in anything, a file that is not this user's, or one that is malformed is a miss, and the
caller reads the metadata again.

Two rules keep a stale list from ever being used:

- a key is not stored while one of its folders changed less than :data:`SETTLE_SECONDS`
  ago: on a file system with coarse timestamps a second change within the same tick
  would not show;
- the cache is not used at all when a finder other than the standard path finder can
  provide distributions (their metadata need not live in ``sys.path`` folders).

The cache lives in ``$XDG_CACHE_HOME/databay`` (default ``~/.cache/databay``), one file
per Python environment, at most :data:`MAX_FILES` files; deleting it is always safe.
"""

from __future__ import annotations

import binascii
import os
import sys
import time
from collections.abc import Sequence
from importlib.machinery import PathFinder

FORMAT = "databay entry points 1"
SETTLE_SECONDS = 2.0
MAX_FILES = 32
_PREFIX = "entry-points-"

Key = tuple[str, ...]
"""The Python version, then ``path<TAB>mtime_ns`` per ``sys.path`` entry."""

Fields = Sequence[str]
"""One entry point as stored: name, module, attribute, distribution, version."""


def current_key() -> Key | None:
    """The key for the present ``sys.path``, or ``None`` when the cache cannot apply."""
    for finder in sys.meta_path:
        if finder is PathFinder or not hasattr(finder, "find_distributions"):
            continue
        if type(finder).__module__.partition(".")[0] != "importlib_metadata":  # its stand-in for PathFinder's
            return None
    parts = [f"{sys.implementation.name} {sys.hexversion:x}"]
    for entry in sys.path:
        path = os.path.abspath(entry or ".")
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            mtime = -1
        parts.append(f"{path}\t{mtime}")
    return tuple(parts)


def cache_file() -> str | None:
    """The cache file of this Python environment (``None``: no home folder to keep it in)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(root):
        return None
    environment = f"{sys.prefix}\0{sys.executable}".encode("utf-8", "surrogateescape")
    return os.path.join(root, "databay", f"{_PREFIX}{binascii.crc32(environment):08x}.txt")


def read(key: Key) -> list[Fields] | None:
    """The entry points stored under ``key``, or ``None`` (a miss)."""
    path = cache_file()
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as file:
            status = os.fstat(file.fileno())
            text = file.read()
    except (OSError, UnicodeDecodeError):
        return None
    if hasattr(os, "getuid") and (status.st_uid != os.getuid() or status.st_mode & 0o022):
        return None  # written by someone else: its entry points would name modules to import
    header, separator, body = text.partition("\n\n")
    if not separator or header != "\n".join((FORMAT, *key)):
        return None
    entries: list[Fields] = [line.split("\t") for line in body.splitlines()]
    if any(len(fields) != 5 for fields in entries):
        return None
    return entries


def write(key: Key, entries: list[Fields]) -> None:
    """Store ``entries`` under ``key``, unless a folder of the key changed too recently.

    Best effort: a cache that cannot be written is simply not written.
    """
    settled = (time.time() - SETTLE_SECONDS) * 1e9
    if any(int(part.rpartition("\t")[2]) > settled for part in key[1:]):
        return
    path = cache_file()
    if path is None or any(_unsafe(part, "\n\r") for part in key) or any(
            _unsafe(field, "\t\n\r") for fields in entries for field in fields):
        return  # nowhere to keep it, or it would not read back the same
    text = "\n".join((FORMAT, *key)) + "\n\n" + "".join("\t".join(fields) + "\n" for fields in entries)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        if os.path.lexists(temporary):  # left by a crashed process with this pid (or planted)
            os.unlink(temporary)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
        _prune(os.path.dirname(path))
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass


def _unsafe(text: str, characters: str) -> bool:
    return any(char in text for char in characters)


def _prune(folder: str) -> None:
    """Keep only the :data:`MAX_FILES` most recently written cache files."""
    files = [os.path.join(folder, name) for name in os.listdir(folder)
             if name.startswith(_PREFIX) and name.endswith(".txt")]
    if len(files) > MAX_FILES:
        files.sort(key=os.path.getmtime)
        for stale in files[:-MAX_FILES]:
            os.unlink(stale)
