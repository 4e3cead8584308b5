"""The text of calendar schedules: ``"every weekday at 00:00"``, ``"every 15 minutes"``.

The words are those of the ``schedule`` library's jobs (``every().monday.at("12:00")``,
``every(10).minutes``, ``every().hour.at(":15")``), written as one phrase:

=====================================  ==============================================
``every day at 06:30``                 each day at 06:30 (``at`` may list times:
                                       ``at 06:30 and 18:30``); ``every day``: 00:00
``every weekday at 00:00``             Monday to Friday; ``every weekend at 10:00``
``every monday at 09:00``              named days (``mon``, ``mondays`` too), several
                                       with ``,`` and ``and``: ``every monday and
                                       thursday at 09:00``
``every hour at :15``                  each hour at 15 minutes past (``:15:30``, or
                                       ``15:30`` as ``schedule`` writes it, with seconds)
``every 2 hours``, ``every 6 hours at :30``  hours of the day divisible by 2 (6), at :00 (:30)
``every minute at :30``                each minute at 30 seconds past
``every 15 minutes``                   at :00, :15, :30 and :45 of each hour
``every 10 seconds``, ``every second``  at :00, :10, ... of each minute
=====================================  ==============================================

Repetitions are aligned to the clock, so their number must divide the next unit evenly:
seconds and minutes 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30; hours 1, 2, 3, 4, 6, 8 or 12.

:func:`parse` gives a :class:`TimesOfDay` (the first three forms) or a
:class:`ClockTicks` (the others), or raises :class:`CalendarError` saying what is wrong and,
when it can, what was meant. :func:`describe` writes a rule back in its canonical form.
"""

from __future__ import annotations

import datetime
import difflib
import re
from dataclasses import dataclass

__all__ = ["CalendarError", "ClockTicks", "TimesOfDay", "describe", "parse"]

MAX_LENGTH = 200
"""The longest schedule text accepted (characters)."""

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYS = {name: index for index, name in enumerate(DAY_NAMES)}
_DAYS.update({name[:3]: index for index, name in enumerate(DAY_NAMES)})
_DAYS.update({name + "s": index for index, name in enumerate(DAY_NAMES)})
_DAY_SETS = {"day": frozenset(range(7)), "days": frozenset(range(7)), "weekday": frozenset(range(5)),
             "weekdays": frozenset(range(5)), "weekend": frozenset({5, 6}), "weekends": frozenset({5, 6})}
_UNITS = {"second": 1, "seconds": 1, "minute": 60, "minutes": 60, "hour": 3600, "hours": 3600}
_DIVISORS = {1: (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30), 60: (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30),
             3600: (1, 2, 3, 4, 6, 8, 12)}
_UNIT_NAMES = {1: ("second", "a minute"), 60: ("minute", "an hour"), 3600: ("hour", "a day")}
_INTERVAL_UNITS = {1: "s", 60: "m", 3600: "h"}
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
_AMPM = re.compile(r"[0-9]{1,2}(?::[0-9]{2})?(am|pm)")
_SEPARATORS = (",", "and")
_WORDS = ["every", "at", "and", *_UNITS, *_DAY_SETS, *DAY_NAMES]


class CalendarError(ValueError):
    """A schedule text or time zone that is not a calendar schedule (the message says why)."""


@dataclass(frozen=True)
class TimesOfDay:
    """Due at ``times`` (local times of day) on ``days`` (0 is Monday, 6 Sunday).

    On the day clocks go forward, a time in the skipped hour is due right after it; on
    the day they go back, a time in the repeated hour is due once, the first time.
    """

    days: frozenset[int]
    times: tuple[datetime.time, ...]


@dataclass(frozen=True)
class ClockTicks:
    """Due whenever the local clock shows a time ``phase`` seconds into a ``period`` that
    divides the day (``period=900, phase=0``: every 15 minutes; ``3600, 900``: every hour at
    :15): twice in the hour repeated when clocks go back, never in the hour they skip.
    """

    period: int
    phase: int


Rule = TimesOfDay | ClockTicks


def parse(text: str) -> Rule:
    """The calendar rule ``text`` says (see the module's documentation for the forms).

    :raises CalendarError: not a calendar schedule; the message quotes the word that is
        wrong, and suggests what was probably meant.
    """
    if not isinstance(text, str):
        raise CalendarError(f"a calendar schedule is text such as \"every day at 06:00\", not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise CalendarError(f"a calendar schedule is at most {MAX_LENGTH} characters, this one has {len(text)}")
    return _Parser(text).rule()


def describe(rule: Rule) -> str:
    """``rule`` in its canonical words: ``every weekday at 00:00``, ``every hour at :15``."""
    if isinstance(rule, ClockTicks):
        return _describe_ticks(rule)
    if rule.days == _DAY_SETS["day"]:
        days = "day"
    elif rule.days == _DAY_SETS["weekday"]:
        days = "weekday"
    elif rule.days == _DAY_SETS["weekend"]:
        days = "weekend"
    else:
        days = _listed([DAY_NAMES[day] for day in sorted(rule.days)])
    return f"every {days} at {_listed([_time_text(t) for t in rule.times])}"


def _describe_ticks(rule: ClockTicks) -> str:
    unit = 3600 if rule.period % 3600 == 0 else 60 if rule.period % 60 == 0 else 1
    count = rule.period // unit
    name = _UNIT_NAMES[unit][0]
    every = f"every {name}" if count == 1 else f"every {count} {name}s"
    if not rule.phase:
        return every
    minutes, seconds = divmod(rule.phase, 60)
    at = f":{seconds:02d}" if unit == 60 else f":{minutes:02d}" + (f":{seconds:02d}" if seconds else "")
    return f"{every} at {at}"


def _time_text(value: datetime.time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


class _Parser:
    """Reads one schedule text, word by word."""

    def __init__(self, text: str):
        self.text = text
        self.words = text.lower().replace(",", " , ").split()
        self.position = 0

    # -- reading words -----------------------------------------------------------

    def peek(self) -> str | None:
        return self.words[self.position] if self.position < len(self.words) else None

    def take(self) -> str | None:
        word = self.peek()
        if word is not None:
            self.position += 1
        return word

    def separator(self) -> bool:
        """Take a separator of a list (``,``, ``and``, or ``, and``) if one comes next."""
        if self.peek() not in _SEPARATORS:
            return False
        self.take()
        if self.peek() in _SEPARATORS:  # ", and"
            self.take()
        return True

    def fail(self, message: str) -> CalendarError:
        return CalendarError(f"{_quoted(self.text)} is not a calendar schedule: {message}")

    def unexpected(self, word: str | None, expected: str, choices: list[str] | None = None) -> CalendarError:
        """A word that does not fit here (or the end of the text): the forms, as examples."""
        if word is None:
            return self.fail(f"it ends where {expected} should follow ({_EXAMPLES})")
        hint = _did_you_mean(word, choices if choices is not None else _WORDS)
        return self.fail(f"expected {expected}, found '{word}'{hint}" + ("" if hint else f" ({_EXAMPLES})"))

    # -- the grammar -------------------------------------------------------------

    def rule(self) -> Rule:
        word = self.take()
        if word is None:
            raise self.fail(f"it is empty ({_EXAMPLES})")
        if word != "every":
            raise self.unexpected(word, "'every' first", ["every"])
        count = self.count()
        word = self.take()
        if word in _UNITS:
            rule: Rule = self.ticks(count, _UNITS[word], word)
        elif word in _DAY_SETS or word in _DAYS:
            if count is not None:
                raise self.fail(f"'every {count} {word}' is not aligned to a calendar: write an interval "
                                f"instead (interval = \"{count}d\"), or name the days")
            rule = self.times_of_day(word)
        else:
            raise self.unexpected(word, "a unit (second, minute, hour) or days (day, weekday, monday, ...)")
        if self.peek() is not None:
            raise self.unexpected(self.peek(), "the end", ["at", "and"])
        return rule

    def count(self) -> int | None:
        word = self.peek()
        if word is None or not _is_number(word):
            return None
        self.take()
        if len(word) > 4:
            raise self.fail(f"{word} is too large a number")
        return int(word)

    def ticks(self, count: int | None, unit: int, word: str) -> ClockTicks:
        name, whole = _UNIT_NAMES[unit]
        number = 1 if count is None else count
        if number == 0:
            raise self.fail(f"'every 0 {word}' never comes")
        if number not in _DIVISORS[unit]:
            allowed = ", ".join(map(str, _DIVISORS[unit]))
            raise self.fail(f"every {number} {name}s do not divide {whole} evenly, so they cannot be aligned to the "
                            f"clock: use {allowed} {name}s, or an interval (interval = "
                            f"\"{number}{_INTERVAL_UNITS[unit]}\")")
        phase = 0
        if self.peek() == "at":
            self.take()
            phase = self.phase(unit, self.take())
        return ClockTicks(number * unit, phase)

    def phase(self, unit: int, word: str | None) -> int:
        """The offset of ``at ...`` in a repetition of ``unit``, in seconds."""
        if unit == 1:
            raise self.fail("'every ... seconds' takes no 'at': they fall on whole seconds")
        if word is None:
            raise self.unexpected(None, "a time")
        if unit == 60:  # ':SS'
            match = re.fullmatch(r":([0-9]{2})", word)
            if match and int(match[1]) < 60:
                return int(match[1])
            hint = f" (write ':{int(word):02d}' for {int(word)} seconds past the minute)" if _is_number(word) else ""
            raise self.fail(f"'{word}' is not a second of the minute such as ':30'{hint}")
        match = re.fullmatch(r":([0-9]{2})(?::([0-9]{2}))?|([0-9]{2}):([0-9]{2})", word)  # ':MM', ':MM:SS', schedule's 'MM:SS'
        if match:
            minutes = int(match[1] or match[3])
            seconds = int(match[2] or match[4] or 0)
            if minutes < 60 and seconds < 60:
                return minutes * 60 + seconds
        hint = f" (write ':{int(word):02d}' for {int(word)} minutes past the hour)" if _is_number(word) else ""
        raise self.fail(f"'{word}' is not a time within the hour such as ':15' or ':15:30'{hint}")

    def times_of_day(self, first: str) -> TimesOfDay:
        days = set(_DAY_SETS.get(first) or {_DAYS[first]})
        named = first in _DAYS
        while self.separator():
            word = self.take()
            if word not in _DAYS or not named:
                raise self.unexpected(word, "the name of a day (monday ... sunday)", list(DAY_NAMES))
            days.add(_DAYS[word])
        times = [datetime.time(0, 0)]
        if self.peek() == "at":
            self.take()
            times = [self.time_of_day(self.take())]
            while self.separator():
                times.append(self.time_of_day(self.take()))
        elif self.peek() is not None:
            raise self.unexpected(self.peek(), "'at' and a time, or the end", ["at", "and", *DAY_NAMES])
        return TimesOfDay(frozenset(days), tuple(sorted(set(times))))

    def time_of_day(self, word: str | None) -> datetime.time:
        if word is None:
            raise self.unexpected(None, "a time of day such as 06:30")
        match = _TIME.fullmatch(word)
        if match:
            hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
            if hour == 24 and minute == 0 and second == 0:
                raise self.fail("'24:00' is written 00:00 (midnight, at the start of the day)")
            if hour < 24 and minute < 60 and second < 60:
                return datetime.time(hour, minute, second)
        if _AMPM.fullmatch(word):
            raise self.fail(f"'{word}': write times of day on the 24-hour clock, such as 09:00 or 21:00")
        if _is_number(word) and int(word) < 24:
            raise self.fail(f"'{word}' is not a time of day: write it as {int(word):02d}:00")
        raise self.fail(f"'{word}' is not a time of day such as 06:30 or 18:45:30 (24-hour clock)")


_EXAMPLES = "e.g. \"every day at 06:30\", \"every weekday at 00:00\", \"every monday at 09:00\", " \
            "\"every hour at :15\", \"every 15 minutes\""


def _is_number(word: str) -> bool:
    return word.isascii() and word.isdigit()  # not "²", which int() refuses


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _quoted(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:57] + "...")
