"""Credential profiles: arguments kept in a private per-user file, merged by ``profile = "name"``.

The file is TOML, one table per profile::

    [prod-mongo]
    uri = "mongodb://app:s3cret@db.internal:27017"

    [orders-api]
    headers = { Authorization = "Bearer ..." }

It is ``$DATABAY_PROFILES`` when set, else ``profiles.toml`` in ``$XDG_CONFIG_HOME/databay``
(``~/.config/databay`` by default). Like ssh with a private key, databay refuses a profiles
file that another user owns, or that its group or others may read or write, and says how
to fix it.

Every value of a profile that is used is a secret: it is registered with
:func:`databay.redaction.register_secret` (shown as ``<profile NAME.KEY>``) as it is read,
before anything runs. Values are taken as written (``$`` in a password is a ``$``).
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from databay.redaction import register_secret

RESERVED = ("use", "profile")
"""Keys a profile may not set: it gives arguments, never the component."""
_MAX_BYTES = 1024 * 1024


class ProfileError(ValueError):
    """A profile that cannot be used.

    :param about_file: the problem is the file's (so it is the same for every profile).
    """

    def __init__(self, message: str, about_file: bool = False):
        super().__init__(message)
        self.about_file = about_file


def profiles_path(environ: Mapping[str, str]) -> Path:
    """Where the profiles file is, for the environment ``environ``."""
    explicit = environ.get("DATABAY_PROFILES")
    if explicit:
        return Path(explicit).expanduser()
    config = environ.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(config) / "databay" / "profiles.toml"


class Profiles:
    """The profiles file of an environment, read (once) when a component first names a profile.

    :param environ: where ``DATABAY_PROFILES`` and ``XDG_CONFIG_HOME`` are looked up.
    """

    def __init__(self, environ: Mapping[str, str]):
        self.path = profiles_path(environ)
        self._profiles: dict[str, Any] | None = None
        self._error: ProfileError | None = None

    def get(self, name: str) -> dict[str, Any]:
        """The arguments of profile ``name``, each registered as a secret.

        :raises ProfileError: the file cannot be used (``about_file``), or has no such
            profile, or the profile is not a table of arguments.
        """
        profiles = self._load()
        if name not in profiles:
            import difflib

            close = difflib.get_close_matches(name, list(profiles), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ProfileError(f"no profile '{name}' in {self.path}{hint}")
        values = profiles[name]
        if not isinstance(values, dict):
            raise ProfileError(f"profile '{name}' in {self.path} must be a table of arguments ([{name}])")
        refused = [key for key in RESERVED if key in values]
        if refused:
            raise ProfileError(f"profile '{name}' in {self.path} may not set '{refused[0]}': "
                               f"a profile gives arguments, the pipeline names the component")
        for key, value in values.items():
            _register(value, f"<profile {name}.{key}>")
        return dict(values)

    def _load(self) -> dict[str, Any]:
        if self._error is not None:
            raise self._error
        if self._profiles is None:
            try:
                self._profiles = self._read()
            except ProfileError as exc:
                self._error = exc
                raise
        return self._profiles

    def _read(self) -> dict[str, Any]:
        path = self.path
        try:
            with path.open("rb") as file:
                _check_private(path, os.fstat(file.fileno()))
                data = file.read(_MAX_BYTES + 1)
        except FileNotFoundError:
            raise ProfileError(f"no profiles file {path} (create it, private to you: chmod 600 {path}; "
                               f"or set DATABAY_PROFILES to its path)", about_file=True) from None
        except OSError as exc:
            raise ProfileError(f"cannot read the profiles file {path}: {exc.strerror or exc}",
                               about_file=True) from None
        if len(data) > _MAX_BYTES:
            raise ProfileError(f"the profiles file {path} is larger than 1 MiB", about_file=True)
        try:
            return tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
            # tomllib's messages say where, never what was written there.
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise ProfileError(f"the profiles file {path} is not valid TOML: {reason}", about_file=True) from None


def _check_private(path: Path, status: os.stat_result) -> None:
    """Refuse a file that is not a regular file private to this user."""
    if not stat.S_ISREG(status.st_mode):
        raise ProfileError(f"the profiles file {path} is not a regular file", about_file=True)
    if os.name != "posix":
        return
    if status.st_uid != os.getuid():
        raise ProfileError(f"the profiles file {path} belongs to another user: it must be yours "
                           f"(chown $USER {path}; chmod 600 {path})", about_file=True)
    mode = stat.S_IMODE(status.st_mode)
    if mode & 0o077:
        raise ProfileError(f"the profiles file {path} can be read or changed by others (mode {mode:03o}): "
                           f"it holds secrets, make it private with chmod 600 {path}", about_file=True)


def _register(value: Any, shown_as: str) -> None:
    """Register every text and number in ``value`` as a secret."""
    if isinstance(value, dict):
        for key, item in value.items():
            _register(item, f"{shown_as[:-1]}.{key}>")
    elif isinstance(value, list):
        for item in value:
            _register(item, shown_as)
    elif isinstance(value, str):
        register_secret(value, shown_as)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        register_secret(str(value), shown_as)
