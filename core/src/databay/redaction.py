"""Secrets that must never reach any output, and the one function that hides them.

A value becomes a secret when configuration reads it from somewhere outside the files a
user shares: a ``${VAR}`` expanded from the environment, a value from a credential
profile. Whoever reads such a value registers it with :func:`register_secret`, saying how
it should be shown instead (``${VAR}``, or ``***``). Everything that writes text a person or
another program can see (log formatters, error messages of the CLI, the live view, what a
stage stores as a delivery error) passes that text through :func:`redact`.

:func:`redact` hides each secret as written and in the forms it takes on its way into
messages: as ``repr`` writes it (quotes and backslashes escaped), as JSON writes it (with
and without non-ASCII escapes), each of those quoted by ``repr`` or JSON again (a message
quoting a value, in a JSON log line or in the ``repr`` of its exception), and any of these
with any of its characters percent-encoded (a URL's query or path: libraries disagree on
which characters they encode, and on the case of the hex digits) and a space as ``+``.
Values shorter than :data:`MIN_SECRET_LENGTH` characters are not registered: they cannot
be told apart from ordinary text (a port number, ``true``), and hiding them would make
every message unreadable.

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
# The pattern matching every form, and what its group ``s<N>`` is replaced with: one
# object, swapped whole, so that redact() never sees a pattern with another's replacements.
_redactor: tuple[re.Pattern[str], tuple[str, ...]] | None = None


def _forms(value: str) -> set[str]:
    """The texts ``value`` may turn into on its way into a message (before percent-encoding)."""
    # Imported here: every log formatter imports this module, and most processes never
    # register a secret (json would add to every start of the CLI).
    import json

    once = {value, repr(value)[1:-1], json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    forms = once | {quoted for form in once for quoted in (repr(form)[1:-1], json.dumps(form)[1:-1])}
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def _encodable(form: str) -> str:
    """A regular expression matching ``form`` with any of its characters percent-encoded
    (hex digits in either case), and a space written as ``+`` too."""
    parts = []
    for char in form:
        if char.isascii() and char.isalnum():  # never encoded
            parts.append(char)
            continue
        encoded = "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        plus = r"|\+" if char == " " else ""
        parts.append(f"(?:{re.escape(char)}|(?i:{encoded}){plus})")
    return "".join(parts)


def register_secret(value: object, shown_as: str = REDACTED) -> None:
    """Hide ``value`` in every later :func:`redact`, showing ``shown_as`` in its place.

    :param value: the secret; anything but a non-empty ``str`` (of at least
        :data:`MIN_SECRET_LENGTH` characters) is ignored.
    :param shown_as: the text printed instead, e.g. ``"${API_KEY}"``. It must not contain
        the secret itself.
    """
    global _redactor
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
            forms = sorted(_shown_as, key=len, reverse=True)
            # The lookahead lets every other position of a text fail at one character class
            # (four times faster than trying each form there).
            starts = {form[0] for form in forms} | {"%", "+"}
            alternatives = "|".join(f"(?P<s{index}>{_encodable(form)})" for index, form in enumerate(forms))
            pattern = re.compile(f"(?=[{''.join(map(re.escape, sorted(starts)))}])(?:{alternatives})")
            _redactor = pattern, tuple(_shown_as[form] for form in forms)


def has_secrets() -> bool:
    """Whether any secret is registered (so :func:`redact` may change text)."""
    return _redactor is not None


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by what it is shown as."""
    redactor = _redactor
    if redactor is None or not text:
        return text
    pattern, replacements = redactor
    return pattern.sub(lambda match: replacements[int(match.lastgroup[1:])], text)  # type: ignore[index]


def forget_secrets() -> None:
    """Forget every registered secret."""
    global _redactor
    with _lock:
        _shown_as.clear()
        _redactor = None
