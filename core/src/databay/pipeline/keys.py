"""The reserved keys of a pipeline file: every key that is not a plain constructor argument.

This module is the one place that knows them. A table's other keys are constructor
arguments, checked against the constructor's signature and type hints.

- The top level: ``planner``, ``links``, ``notifiers`` and the named components
  ``inlets`` and ``outlets`` (:data:`TOP_LEVEL`); any other top-level table must be named
  after a registered service (``[web]``), and holds its arguments.
- Every component table: ``use``, the registered name (or ``"module:Class"`` import
  string) of the component, and ``profile``, the credential profile whose arguments it
  takes (:mod:`~databay.pipeline.profiles`).
- A link table: ``inlets``, ``outlets``, ``interval`` (or ``schedule`` or ``cron``, with
  ``timezone``, and for cron ``start_date``, ``end_date`` and ``jitter``: see
  :mod:`~databay.pipeline.schedule_keys`), ``processors``, ``groupers``,
  ``stage`` (a path, or a stage backend's table), ``stage_retention`` (how long the
  stage keeps delivered batches) and ``retry``; ``inlet_concurrency`` is a ``Link``
  argument read here because its bound (at least 1) is not in its type hint.
- An inlet or outlet table: ``retry`` (set as the node's ``retry_policy``, whatever its
  constructor accepts); an outlet table: ``processors``.
- A planner table: ``links`` is refused (links are ``[[links]]`` tables); ``threads`` is
  the constructor argument, read here because its bound (at least 1, as every planner on
  databay's engine requires) is not in its type hint.

To add a key (for instance a retry policy on link and component tables), add a
:class:`Key` to :data:`RESERVED` for the tables it belongs to. Its ``read`` checks and
converts the value (reporting problems through the checker); with ``argument=True`` the
result is passed to the constructor under the key's name, otherwise it is kept in the
spec's ``settings`` and ``apply(obj, value)`` receives it once the object is built::

    def _retry(checker, value, place, label):
        if not isinstance(value, dict):
            checker.problem(label, "'retry' must be a table such as { attempts = 3 }")
            return INVALID
        return RetryPolicy(**value)

    RESERVED["inlet"]["retry"] = Key(_retry, argument=False, apply=lambda inlet, policy: ...)

A key that is an ordinary constructor argument (a new ``Link`` parameter, say) needs
nothing here: it is checked against the constructor's signature and type hints.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from databay.pipeline.typecheck import Mismatch, coerce, shown
from databay.retry import RetryPolicy
from databay.timezones import zone

if TYPE_CHECKING:
    from databay.pipeline.validate import Checker

TOP_LEVEL = ("planner", "links", "notifiers", "inlets", "outlets")
USE = "use"
PROFILE = "profile"

INVALID: Any = object()
"""What ``read`` returns for a value it reported a problem about."""


@dataclass(frozen=True)
class Key:
    """How a reserved key of a table is read.

    :param read: ``read(checker, value, place, label)``: the value ready for use (its
        ``${...}`` already expanded), or :data:`INVALID` after reporting a problem with
        ``checker.problem(label, message, key)``. ``place`` is where the table is
        (``links[0].outlets[1]``), ``label`` how problems name it (``... (csv)``).
    :param argument: pass the result to the constructor under the key's name (which the
        constructor must accept); otherwise keep it in the spec's ``settings``.
    :param apply: for settings, ``apply(obj, value)`` once the object is built.
    :param expand: expand ``${...}`` in the value before ``read`` (keys holding component
        tables say ``False``: each component expands its own values, where problems can
        name it).
    """

    read: Callable[[Checker, Any, str, str], Any]
    argument: bool = True
    apply: Callable[[Any, Any], None] | None = None
    expand: bool = True


def _components(kind: str, key: str) -> Key:
    """The key ``key`` holding one or a list of ``kind`` components (tables or names)."""

    def read(checker: Checker, value: Any, place: str, label: str) -> Any:
        return checker.component_list(kind, value, place, key)

    return Key(read, expand=False)


def _duration(name: str, meaning: str = "", seconds: bool = False) -> Callable[[Checker, Any, str, str], Any]:
    """A ``read`` for a duration (seconds, or text such as ``"5m"``): a timedelta, or its
    seconds with ``seconds=True``. ``meaning`` opens the problem's reason."""

    def read(checker: Checker, value: Any, place: str, label: str) -> Any:
        from databay.pipeline.intervals import IntervalError, parse_interval

        try:
            duration = parse_interval(value)
        except IntervalError as exc:
            checker.problem(label, f"argument '{name}': {meaning}{exc}", name)
            return INVALID
        return duration.total_seconds() if seconds else duration

    return read


def _stage(checker: Checker, value: Any, place: str, label: str) -> Any:
    # A path (the SQLite stage), relative to the working directory like every path in a
    # pipeline; or a table naming a registered stage backend and its arguments.
    if isinstance(value, dict):
        spec = checker.component("stage", value, f"{place}.stage")
        return INVALID if spec is None else spec
    value = checker.expanded(value, label, "stage")
    if value is INVALID:
        return INVALID
    if isinstance(value, str) and value.strip():
        folder = _stage_folder(value)
        if folder is None:
            return value
        checker.problem(label, f"argument 'stage': {value!r} is a folder: give the path of a file in it, "
                               f"e.g. stage = \"{folder}todos.stage\"", "stage")
        return INVALID
    checker.problem(label, f"argument 'stage': the path of the link's stage file, e.g. "
                           f"stage = \"state/todos.stage\", not {shown(value)}", "stage")
    return INVALID


def _stage_folder(path: str) -> str | None:
    """``path`` ending with a separator when it names a folder (so cannot be a stage file), else ``None``."""
    if path.endswith(("/", os.sep)):
        return path
    if os.path.isdir(path):
        return path + "/"
    return None


def _positive_int(name: str) -> Callable[[Checker, Any, str, str], Any]:
    """A ``read`` for an argument that must be an int of at least 1."""

    def read(checker: Checker, value: Any, place: str, label: str) -> Any:
        try:
            number = coerce(value, int)
        except Mismatch as exc:
            checker.problem(label, exc.describe(name), name)
            return INVALID
        if number < 1:
            checker.problem(label, f"argument '{name}' must be a positive int, not {shown(number)}", name)
            return INVALID
        return number

    return read


def _converted(name: str, expected: type, example: str, convert: Callable[[Any], Any],
               drop: tuple[str, ...] = ()) -> Callable[[Checker, Any, str, str], Any]:
    """A ``read`` for an argument that must be an ``expected`` (``example`` says what one
    looks like) and that ``convert`` turns into its value; the ``TypeError`` or
    ``ValueError`` it raises is the problem's reason, without the prefixes in ``drop`` (the
    problem names the argument itself)."""

    def read(checker: Checker, value: Any, place: str, label: str) -> Any:
        if not isinstance(value, expected):
            checker.problem(label, f"argument '{name}': {example}, not {shown(value)}", name)
            return INVALID
        try:
            return convert(value)
        except (TypeError, ValueError) as exc:
            reason = str(exc)
            for prefix in drop:
                reason = reason.removeprefix(prefix)
            checker.problem(label, f"argument '{name}': {reason}", name)
            return INVALID

    return read


def _set_retry_policy(node: Any, policy: Any) -> None:
    node.retry_policy = policy


def _no_links(checker: Checker, value: Any, place: str, label: str) -> Any:
    checker.problem(label, "'links' is not a planner argument: links are [[links]] tables at the top level", "links")
    return INVALID


def _schedule(checker: Checker, value: Any, place: str, label: str) -> Any:
    from databay.calendar_grammar import CalendarError, parse

    try:
        parse(value)
    except CalendarError as exc:
        checker.problem(label, f"argument 'schedule': {exc}", "schedule")
        return INVALID
    return value


def _cron(checker: Checker, value: Any, place: str, label: str) -> Any:
    if isinstance(value, str) and value.strip():
        return value.strip()
    checker.problem(label, f"argument 'cron': five crontab fields such as \"0 0 * * 1-5\", not {shown(value)}", "cron")
    return INVALID


def _date(name: str) -> Any:
    """A ``read`` for ``start_date``/``end_date``: a TOML date or datetime, or ISO 8601 text."""

    def read(checker: Checker, value: Any, place: str, label: str) -> Any:
        if isinstance(value, datetime.datetime):
            return value
        if isinstance(value, datetime.date):
            return datetime.datetime.combine(value, datetime.time())
        if isinstance(value, str):
            try:
                return datetime.datetime.fromisoformat(value.strip())
            except ValueError:
                pass
        checker.problem(label, f"argument '{name}': a date and time such as 2025-01-01T06:00:00 (in the link's "
                               f"time zone) or 2025-01-01T06:00:00+01:00, not {shown(value)}", name)
        return INVALID

    return read


_RETRY = _converted("retry", dict, "a table such as { attempts = 5, initial_delay = 1 }", RetryPolicy.coerce,
                    drop=("RetryPolicy: ", "retry: "))
_NODE_RETRY = Key(_RETRY, argument=False, apply=_set_retry_policy)
_PROCESSORS = _components("processor", "processors")

RESERVED: dict[str, dict[str, Key]] = {
    "link": {
        "inlets": _components("inlet", "inlets"),
        "outlets": _components("outlet", "outlets"),
        "interval": Key(_duration("interval")),
        # Settings: schedule_keys.settle() makes the link's interval of them.
        "schedule": Key(_schedule, argument=False),
        "timezone": Key(_converted("timezone", str, 'an IANA time zone name such as "Europe/Amsterdam"', zone),
                        argument=False),
        "cron": Key(_cron, argument=False),
        "start_date": Key(_date("start_date"), argument=False),
        "end_date": Key(_date("end_date"), argument=False),
        "jitter": Key(_duration("jitter", "the most seconds to delay each transfer by at random: ", seconds=True),
                      argument=False),
        "processors": _PROCESSORS,
        "groupers": _components("processor", "groupers"),
        "stage": Key(_stage, expand=False),
        "stage_retention": Key(_duration("stage_retention")),
        "retry": Key(_RETRY),
        "inlet_concurrency": Key(_positive_int("inlet_concurrency")),
    },
    "outlet": {"processors": _PROCESSORS, "retry": _NODE_RETRY},
    "inlet": {"retry": _NODE_RETRY},
    "planner": {"links": Key(_no_links), "threads": Key(_positive_int("threads"))},
    "processor": {},
    "notifier": {},
    "service": {},
    "stage": {},
}
"""Reserved keys by table: ``RESERVED[table][key]``."""
