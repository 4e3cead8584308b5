"""When a pipeline's link is due: its ``interval``, ``schedule`` or ``cron``, and their options.

A ``[[links]]`` table has exactly one of:

- ``interval``: a duration (``"5s"``), see :mod:`databay.pipeline.intervals`;
- ``schedule``: a calendar schedule (``"every weekday at 00:00"``, see
  :mod:`databay.calendar_grammar`), with an optional ``timezone`` (an IANA name; default
  the machine's zone);
- ``cron``: five crontab fields (``"0 0 * * 1-5"``), with optional ``timezone``,
  ``start_date``, ``end_date`` and ``jitter`` (seconds), for planners that run cron
  schedules: those whose class has a ``cron_schedule`` factory (databay-aps's ``aps``).
  Any other planner refuses it, naming databay-aps.

Each key is read by its :class:`~databay.pipeline.keys.Key` (problems at that key); then
:func:`settle` checks how they go together and makes the link's ``interval`` argument: a
:class:`~datetime.timedelta`, a :class:`~databay.calendar.Calendar`, or the planner's cron
schedule. The keys as they will run stay in the link's settings (``validate --show``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from databay.pipeline.validate import Checker

SCHEDULE_KEYS = ("interval", "schedule", "cron")
CRON_OPTIONS = ("start_date", "end_date", "jitter")
CRON_FACTORY = "cron_schedule"
"""The name of the class attribute by which a planner says it runs cron schedules:
``cron_schedule(expression, timezone=None, start_date=None, end_date=None, jitter=None)``
returns what the link takes as its ``interval``."""


def settle(checker: Checker, table: dict[str, Any], place: str, arguments: dict[str, Any],
           settings: dict[str, Any]) -> None:
    """Check how the schedule keys of the link table at ``place`` go together, and set its
    ``interval`` argument (a problem for each mistake, at its key)."""
    given = [key for key in SCHEDULE_KEYS if key in table]
    if len(given) > 1:
        checker.problem(place, f"'{given[0]}' and '{given[1]}': a link has one of 'interval', 'schedule' and 'cron'",
                        given[1])
    elif not given:
        checker.problem(place, "missing required argument 'interval' (or a calendar: "
                               "schedule = \"every day at 06:00\")")
    kind = given[0] if len(given) == 1 else None
    if "timezone" in table and kind not in ("schedule", "cron"):
        checker.problem(place, "'timezone' is the time zone of a 'schedule' or 'cron': an interval has none",
                        "timezone")
    for option in CRON_OPTIONS:
        if option in table and kind != "cron":
            checker.problem(place, f"'{option}' is an option of cron schedules (cron = \"...\", with the aps "
                                   f"planner of databay-aps)", option)
    zone_ok = "timezone" not in table or "timezone" in settings
    if kind == "schedule" and "schedule" in settings and zone_ok:
        _calendar(arguments, settings)
    elif kind == "cron" and "cron" in settings and zone_ok:
        _cron(checker, place, arguments, settings)


def _calendar(arguments: dict[str, Any], settings: dict[str, Any]) -> None:
    from databay.calendar import Calendar

    calendar = Calendar(settings["schedule"], timezone=settings.get("timezone"))
    arguments["interval"] = calendar
    settings.update(schedule=calendar.text, timezone=calendar.timezone_name)


def _cron(checker: Checker, place: str, arguments: dict[str, Any], settings: dict[str, Any]) -> None:
    from databay.timezones import zone_name

    expression = settings["cron"]
    planner = checker.planner_spec
    if planner is None:
        return  # the planner's own problem is reported
    factory = getattr(planner.target, CRON_FACTORY, None)
    if factory is None:
        checker.problem(place, f"argument 'cron': the {planner.use} planner does not run cron schedules; the aps "
                               f"planner of databay-aps does ({_aps_hint(checker)}){_calendar_hint(expression)}",
                        "cron")
        return
    options = {key: settings[key] for key in ("timezone", *CRON_OPTIONS) if key in settings}
    try:
        arguments["interval"] = factory(expression, **options)
    except (TypeError, ValueError) as exc:
        checker.problem(place, f"argument 'cron': {exc}", "cron")
        return
    except Exception as exc:  # noqa: BLE001 - a planner's factory failing is reported at its place
        checker.problem(place, f"argument 'cron': {planner.use}'s cron_schedule failed: {type(exc).__name__}: {exc}",
                        "cron")
        return
    if "timezone" in settings:
        settings["timezone"] = zone_name(settings["timezone"])


def _aps_hint(checker: Checker) -> str:
    from databay.errors import ComponentNotFoundError, PluginError

    try:
        checker.manager.find("planner", "aps")
    except ComponentNotFoundError:
        return "pip install databay-aps, then [planner] use = \"aps\""
    except PluginError:
        pass
    return "[planner] use = \"aps\""


def _calendar_hint(expression: str) -> str:
    text = calendar_for_cron(expression)
    return f"; or, with any planner, schedule = \"{text}\"" if text else ""


_CRON_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def calendar_for_cron(expression: str) -> str | None:
    """The calendar schedule that says what the crontab line ``expression`` says, for the
    simple ones (``0 0 * * 1-5`` is ``every weekday at 00:00``), in its canonical words;
    else ``None`` (also for a repetition the clock does not divide: ``*/7 * * * *``)."""
    from databay.calendar_grammar import CalendarError, describe, parse

    text = _calendar_words(expression.split())
    if text is None:
        return None
    try:
        return describe(parse(text))
    except CalendarError:
        return None


def _calendar_words(fields: list[str]) -> str | None:
    """The crontab ``fields`` in a calendar's words (not yet checked by its grammar), or ``None``."""
    if len(fields) != 5 or fields[2:4] != ["*", "*"]:
        return None
    minute, hour, _, _, weekdays = fields
    if weekdays == "*" and hour == "*":
        if minute == "*":
            return "every minute"
        if minute.startswith("*/") and _number(minute[2:]):
            return f"every {int(minute[2:])} minutes"
        return f"every hour at :{int(minute):02d}" if _number(minute) and int(minute) < 60 else None
    if weekdays == "*" and minute == "0" and hour.startswith("*/") and _number(hour[2:]):
        return f"every {int(hour[2:])} hours"
    if not (_number(minute) and int(minute) < 60 and all(_number(h) and int(h) < 24 for h in hour.split(","))):
        return None
    times = " and ".join(f"{int(h):02d}:{int(minute):02d}" for h in hour.split(","))
    days = _cron_days(weekdays)
    return f"every {days} at {times}" if days else None


def _cron_days(field: str) -> str | None:
    """``day``, or day names, for a crontab day-of-week field of numbers."""
    if field == "*":
        return "day"
    numbers: set[int] = set()
    for part in field.split(","):
        first, _, last = part.partition("-")
        if not _number(first) or not _number(last or first):
            return None
        low, high = int(first), int(last or first)
        if low > high or high > 7:
            return None
        numbers.update(range(low, high + 1))
    return " and ".join(sorted({_CRON_DAYS[number] for number in numbers}))  # the grammar orders and names them


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 4
