"""Secrets that must never reach any output, and the one function that hides them.

A value becomes a secret when configuration reads it from somewhere outside the files a
user shares: a ``${VAR}`` expanded from the environment, a value from a credential
profile. Whoever reads such a value registers it with :func:`register_secret`, saying how
it should be shown instead (``${VAR}``, or ``***``). Everything that writes text a person or
another program can see (log formatters, error messages of the CLI, the live view, what a
stage stores as a delivery error) passes that text through :func:`redact`.

:func:`redact` hides each secret as written and in the forms it takes on its way into
messages: percent-encoded (in a URL's query or path), as ``repr`` writes it (quotes and
backslashes escaped), and as JSON writes it. Values shorter than :data:`MIN_SECRET_LENGTH`
characters are not registered: they cannot be told apart from ordinary text (a port
number, ``true``), and hiding them would make every message unreadable.

The registry is per process and only grows while a process runs; :func:`forget_secrets`
empties it (tests, a process that loads a new configuration).
"""

from __future__ import annotations

import re
import threading

__all__ = ["MIN_SECRET_LENGTH", "forget_secrets", "has_secrets", "redact", "register_secret"]

MIN_SECRET_LENGTH = 3
"""Shorter values are never treated as secrets (see the module's docs)."""

REDACTED = "***"
"""How a secret is shown when it was registered without a name."""

_lock = threading.Lock()
_shown_as: dict[str, str] = {}   # each form of each secret -> what to print instead
_pattern: re.Pattern[str] | None = None


def _forms(value: str) -> set[str]:
    """The texts ``value`` may turn into on its way into a message."""
    # Imported here: every log formatter imports this module, and most processes never
    # register a secret (json and urllib.parse would add to every start of the CLI).
    import json
    import urllib.parse

    forms = {
        value,
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote(value),
        urllib.parse.quote_plus(value),
        repr(value)[1:-1],
        json.dumps(value)[1:-1],
    }
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def register_secret(value: object, shown_as: str = REDACTED) -> None:
    """Hide ``value`` in every later :func:`redact`, showing ``shown_as`` in its place.

    :param value: the secret; anything but a non-empty ``str`` (of at least
        :data:`MIN_SECRET_LENGTH` characters) is ignored.
    :param shown_as: the text printed instead, e.g. ``"${API_KEY}"``. It must not contain
        the secret itself.
    """
    global _pattern
    if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
        return
    if value in shown_as:
        shown_as = REDACTED
    with _lock:
        added = False
        for form in _forms(value):
            if form not in _shown_as:
                _shown_as[form] = shown_as
                added = True
        if added:
            # Longest first, so a secret that contains another is hidden whole.
            alternatives = sorted(_shown_as, key=len, reverse=True)
            _pattern = re.compile("|".join(map(re.escape, alternatives)))


def has_secrets() -> bool:
    """Whether any secret is registered (so :func:`redact` may change text)."""
    return _pattern is not None


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by what it is shown as."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    shown_as = _shown_as
    return pattern.sub(lambda match: shown_as[match.group(0)], text)


def forget_secrets() -> None:
    """Forget every registered secret."""
    global _pattern
    with _lock:
        _shown_as.clear()
        _pattern = None
