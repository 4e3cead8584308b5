"""Import strings a pipeline names (``"package.module:attr"``), found beside the pipeline too.

A pipeline may name a module of its own folder (``processors = ["todo_steps:only_done"]``
with ``todo_steps.py`` beside the file, or in the working directory). Those folders are
searched for that module only, and only when no installed module has its name:

- ``sys.path`` is never changed while anything else imports, so a file beside a pipeline
  named like a library a plugin imports (``aiohttp.py``, ``pymongo.py``) never runs in its
  place, when checking or when running;
- while a named module is imported from the folders, they come *after* every installed
  location, so that the module (and what it imports) never shadows an installed module.

:func:`import_folders` says which folders, for the checks run inside it.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import ModuleType

_FOLDERS: ContextVar[tuple[str, ...]] = ContextVar("databay_pipeline_folders", default=())


@contextmanager
def import_folders(*folders: str | os.PathLike[str] | None) -> Iterator[None]:
    """Let :func:`import_module` look for modules in ``folders`` (``None`` is skipped)."""
    found = tuple(dict.fromkeys(str(Path(f).resolve()) for f in folders if f is not None))
    token = _FOLDERS.set(found)
    try:
        yield
    finally:
        _FOLDERS.reset(token)


def import_module(name: str) -> ModuleType:
    """The module ``name``: installed, else from the folders of :func:`import_folders`.

    :raises Exception: whatever importing it raises (``ModuleNotFoundError`` when neither
        has it).
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        folders = _FOLDERS.get()
        if not folders or not _is_missing_itself(exc, name):
            raise
    with _searched_last(folders):
        return importlib.import_module(name)


def _is_missing_itself(exc: ModuleNotFoundError, name: str) -> bool:
    """Whether ``name``'s top-level package is what is missing (not something it imports)."""
    return exc.name == name.partition(".")[0]


@contextmanager
def _searched_last(folders: tuple[str, ...]) -> Iterator[None]:
    added = [folder for folder in folders if folder not in sys.path]
    sys.path.extend(added)
    try:
        yield
    finally:
        for folder in added:
            try:
                sys.path.remove(folder)
            except ValueError:
                pass
