"""IANA time zones by name, and the machine's local zone.

:func:`zone` turns ``"Europe/Amsterdam"`` into a :class:`zoneinfo.ZoneInfo`, with a
suggestion when the name is unknown; :func:`local_zone` is the zone of the machine (the
default of every calendar schedule); :func:`zone_name` names a zone for people and for
pipeline files. Zones come from the operating system's time zone database, or from the
``tzdata`` package where the system has none (Windows: ``pip install tzdata``).
"""

from __future__ import annotations

import datetime
import difflib
import functools
import os
import zoneinfo

from databay.printable import short_repr

__all__ = ["TimezoneError", "local_zone", "zone", "zone_name"]

_ZONEINFO_DIRS = ("/usr/share/zoneinfo/", "/usr/lib/zoneinfo/", "/usr/share/lib/zoneinfo/", "/etc/zoneinfo/")
_MAX_NAME = 100


class TimezoneError(ValueError):
    """A name that is not an IANA time zone (the message suggests the closest one)."""


def zone(name: str | datetime.tzinfo | None) -> datetime.tzinfo:
    """The time zone ``name`` gives: an IANA name (``"Europe/Amsterdam"``, ``"UTC"``), a
    ``tzinfo`` as it is, or ``None`` for the machine's :func:`local_zone`.

    :raises TimezoneError: not a known IANA name (with the closest names known).
    """
    if name is None:
        return local_zone()
    if isinstance(name, datetime.tzinfo):
        return name
    if not isinstance(name, str):
        raise TimezoneError(f"a time zone is an IANA name such as 'Europe/Amsterdam', not {type(name).__name__}")
    text = name.strip()
    if not text or len(text) > _MAX_NAME or text.startswith(("/", ".")) or ".." in text or "\\" in text:
        raise TimezoneError(f"{short_repr(name, 60)} is not an IANA time zone name (such as 'Europe/Amsterdam')")
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    raise TimezoneError(f"unknown time zone {short_repr(name, 60)}{_suggestion(text)}")


def zone_name(tz: datetime.tzinfo) -> str:
    """How a pipeline names ``tz``: its IANA key (``Europe/Amsterdam``), else its name."""
    key = getattr(tz, "key", None)
    if isinstance(key, str) and key:
        return key
    return tz.tzname(None) or str(tz)


@functools.lru_cache(maxsize=1)
def local_zone() -> datetime.tzinfo:
    """The machine's time zone: ``$TZ`` when it names an IANA zone, else the zone
    ``/etc/localtime`` is (its IANA name when it links into the zone database), else the
    current fixed offset (no daylight saving time: the system says no more).

    Read once per process.
    """
    name = os.environ.get("TZ", "").removeprefix(":")
    if name:
        try:
            return zone(name)
        except TimezoneError:
            pass
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        target = ""
    for folder in _ZONEINFO_DIRS:
        if target.startswith(folder):
            try:
                return zoneinfo.ZoneInfo(target[len(folder):])
            except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
                break
    try:
        with open("/etc/localtime", "rb") as file:
            return zoneinfo.ZoneInfo.from_file(file, key="localtime")
    except (OSError, ValueError):
        pass
    offset = datetime.datetime.now().astimezone().tzinfo
    return offset if offset is not None else datetime.UTC


def _suggestion(name: str) -> str:
    try:
        known = zoneinfo.available_timezones()
    except Exception:  # noqa: BLE001 - no database to read: no suggestion
        known = set()
    if not known:
        return " (no time zone database found: install the tzdata package, pip install tzdata)"
    by_lower = {key.lower(): key for key in known}
    if name.lower() in by_lower:
        return f" (did you mean '{by_lower[name.lower()]}'? names are case-sensitive)"
    # Also match on the city alone: 'Amsterdam' -> 'Europe/Amsterdam'.
    cities = {key.rsplit("/", 1)[-1].lower(): key for key in sorted(known)}
    wanted = name.lower().replace(" ", "_")
    close = difflib.get_close_matches(wanted, list(by_lower), n=1, cutoff=0.75)
    if close:
        return f" (did you mean '{by_lower[close[0]]}'?)"
    close = difflib.get_close_matches(wanted.rsplit("/", 1)[-1], list(cities), n=1, cutoff=0.75)
    if close:
        return f" (did you mean '{cities[close[0]]}'?)"
    return " (an IANA name such as 'Europe/Amsterdam', 'America/New_York' or 'UTC')"
