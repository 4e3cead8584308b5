"""Retrying failed pulls and pushes: :class:`RetryPolicy` and the loop that applies it.

A policy is set per link (``Link(..., retry=RetryPolicy(...))``, for all its inlets and
outlets) or per component (``MongoOutlet(..., retry=...)``, or ``node.retry_policy =
...`` for classes whose constructor does not pass keyword arguments on); a component's own
policy wins. Backoff never blocks anything: the wait is an ``asyncio`` sleep on the
planner's loop (each attempt of a synchronous pull or push runs in the thread pool), and
it ends early when the planner shuts down.
"""

from __future__ import annotations

import asyncio
import builtins
import importlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

T = TypeVar("T")

_LOGGER = logging.getLogger("databay.retry")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a failing pull or push.

    The wait before retry ``n`` (``n = 1`` before the second attempt) is
    ``min(max_delay, initial_delay * backoff ** (n - 1))``, shortened by a random fraction
    of up to ``jitter`` of itself, so that many links failing together do not retry in
    lockstep: with ``jitter=0.5`` each wait is between half and all of its nominal value.

    :param attempts: attempts in all, the first included (``1``: never retry).
    :param initial_delay: seconds before the first retry.
    :param backoff: factor by which each wait grows.
    :param max_delay: longest wait in seconds.
    :param jitter: fraction (0 to 1) by which a wait may be randomly shortened.
    :param retry_on: exception classes worth retrying (others fail at once); in pipeline
        files, names such as ``"ConnectionError"`` or ``"package.module:Error"``.
    """

    attempts: int = 3
    initial_delay: float = 1.0
    backoff: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.5
    retry_on: tuple[type[BaseException], ...] = (Exception,)

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int) or self.attempts < 1:
            raise ValueError(f"RetryPolicy: attempts must be a positive integer, got {self.attempts!r}")
        for name in ("initial_delay", "backoff", "max_delay", "jitter"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"RetryPolicy: {name} must be a number >= 0, got {value!r}")
        if self.backoff < 1:
            raise ValueError(f"RetryPolicy: backoff must be >= 1, got {self.backoff!r}")
        if self.jitter > 1:
            raise ValueError(f"RetryPolicy: jitter must be between 0 and 1, got {self.jitter!r}")
        object.__setattr__(self, "retry_on", _exception_classes(self.retry_on))

    @classmethod
    def coerce(cls, value: RetryPolicy | Mapping[str, Any] | None) -> RetryPolicy | None:
        """A policy from a policy, a mapping of its fields (as in a pipeline file) or ``None``.

        :raises ValueError: an unknown field or an invalid value, named.
        :raises TypeError: neither a policy nor a mapping.
        """
        if value is None or isinstance(value, RetryPolicy):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"retry must be a RetryPolicy or a table of its settings, got {type(value).__name__}")
        known = [f.name for f in fields(cls)]
        unknown = [key for key in value if key not in known]
        if unknown:
            import difflib

            close = difflib.get_close_matches(unknown[0], known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; known: {', '.join(known)}"
            raise ValueError(f"retry: unknown setting '{unknown[0]}'{hint}")
        return cls(**value)

    def delay(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (1 = before the second attempt)."""
        nominal = min(self.max_delay, self.initial_delay * self.backoff ** (retry - 1))
        return nominal * (1 - self.jitter * rand())

    def retries(self, exc: BaseException) -> bool:
        """Whether ``exc`` is worth another attempt."""
        return isinstance(exc, self.retry_on)


def _exception_classes(value: Any) -> tuple[type[BaseException], ...]:
    items = value if isinstance(value, (list, tuple)) else [value]
    classes = []
    for item in items:
        if isinstance(item, str):
            item = _import_exception(item)
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise TypeError(f"RetryPolicy: retry_on must name exception classes, got {item!r}")
        classes.append(item)
    if not classes:
        raise ValueError("RetryPolicy: retry_on names no exception class")
    return tuple(classes)


def _import_exception(name: str) -> Any:
    """``"ConnectionError"`` (a builtin) or ``"package.module:Error"``."""
    if ":" not in name:
        found = getattr(builtins, name, None)
        if found is None:
            raise ValueError(f"RetryPolicy: '{name}' is not a builtin exception; name others as 'module:Class'")
        return found
    module_name, _, attr = name.partition(":")
    try:
        found = importlib.import_module(module_name)
        for part in attr.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"RetryPolicy: cannot import exception '{name}': {exc}") from None
    return found


class Attempts:
    """What :func:`call_with_retry` did: how many ``attempts`` it made, and whether it
    stopped early because the planner is shutting down (``interrupted``)."""

    __slots__ = ("count", "interrupted")

    def __init__(self) -> None:
        self.count = 0
        self.interrupted = False


async def call_with_retry(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy | None,
    what: str,
    stopping: asyncio.Event | None = None,
    attempts: Attempts | None = None,
    on_retry: Callable[[int, Exception, float], None] | None = None,
) -> T:
    """Await ``call()`` until it succeeds, as ``policy`` allows; re-raise its last exception.

    :param what: names the call in log messages, e.g. ``outlet MongoOutlet() in link ...``.
    :param stopping: set when the planner shuts down: no further attempt is made.
    :param attempts: filled in with the number of attempts and whether shutdown cut them short.
    :param on_retry: called with ``(failed attempt, its exception, seconds before the next)``
        before each wait.
    """
    record = attempts if attempts is not None else Attempts()
    while True:
        record.count += 1
        try:
            return await call()
        except Exception as exc:
            if policy is None or record.count >= policy.attempts or not policy.retries(exc):
                raise
            wait = policy.delay(record.count)
            _LOGGER.warning("%s failed (attempt %d of %d): %s: %s; retrying in %.2f s", what, record.count,
                            policy.attempts, type(exc).__name__, exc, wait)
            if on_retry is not None:
                on_retry(record.count, exc, wait)
            if not await pause(wait, stopping):
                record.interrupted = True
                _LOGGER.warning("%s: not retrying, shutting down", what)
                raise


async def pause(seconds: float, stopping: asyncio.Event | None) -> bool:
    """Sleep ``seconds`` on the loop; ``False`` as soon as ``stopping`` is set (or already was)."""
    if stopping is None:
        await asyncio.sleep(seconds)
        return True
    if stopping.is_set():
        return False
    try:
        await asyncio.wait_for(stopping.wait(), seconds)
    except TimeoutError:
        return True
    return False
