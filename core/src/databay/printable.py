"""Text from outside made safe to show: secrets hidden, control characters escaped.

Tags, pipeline values, exception messages, servers' error bodies, plugin metadata and stage
contents are input. Shown raw, a newline in one forges a second output line, and an escape
sequence (``ESC [ ...``) recolours, moves or clears the terminal. Every human output of
databay (log lines, the command line's errors, results and listings, the live view)
passes such text through :func:`printable_line` or :func:`printable_lines`: registered
secrets are redacted first (:mod:`databay.redaction`), then control characters are written
the way ``repr`` writes them (``\\n``, ``\\x1b``). :func:`string_literal` quotes text for
files that are read back (JSON, TOML, Python source) with the same characters escaped.
:func:`safe_repr`, :func:`short_repr` and :func:`describe_record` name a user's value or
record in a message.

A public module: a plugin that prints (a command it adds, say) or puts a server's answer
into a message uses it too.

Escaped are the C0 controls but tab, DEL, the C1 controls, the Unicode line and paragraph
separators (``str.splitlines`` splits on them) and the bidirectional overrides (which can
make a line read differently from what it holds).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from databay.redaction import redact

if TYPE_CHECKING:
    from databay.record import Record

__all__ = ["describe_record", "escape_controls", "printable_line", "printable_lines", "safe_repr", "short_repr",
           "string_literal"]

_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_IN_A_LINE = re.compile(f"[\n{_CONTROLS}]")
_IN_LINES = re.compile(f"[{_CONTROLS}]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_controls(text: str, keep_newlines: bool = False) -> str:
    """``text`` with its control characters escaped (newlines too, unless ``keep_newlines``)."""
    pattern = _IN_LINES if keep_newlines else _IN_A_LINE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_escaped, text)


def printable_line(text: str) -> str:
    """``text`` redacted and escaped onto one line."""
    return escape_controls(redact(text))


def printable_lines(text: str) -> str:
    """``text`` redacted and escaped, keeping its line breaks (a traceback, a list of problems)."""
    return escape_controls(redact(text), keep_newlines=True)


def string_literal(text: str) -> str:
    """``text`` in double quotes, escaped so that JSON, TOML and Python all read it back as
    ``text``, and holding no control character: ``"a\\tb \\u001b[2J"``.

    (For TOML, ``text`` must hold no lone surrogate: TOML cannot write one.)
    """
    import json  # only for files written: not on every start of the command line

    quoted = json.dumps(text, ensure_ascii=False)  # escapes quotes, backslashes and C0 controls
    return _IN_LINES.sub(lambda match: f"\\u{ord(match.group()):04x}", quoted)


def safe_repr(value: Any) -> str:
    """``repr(value)``, or ``<ClassName>`` when its ``__repr__`` fails (a node whose
    ``__init__`` skipped ``super().__init__()``, say): for naming a user's object in a message."""
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def short_repr(value: Any, width: int = 80) -> str:
    """:func:`safe_repr` of ``value``, cut to ``width`` characters ending in ``...`` when
    longer: for showing what came (a payload, a value from a file) in a one-line message."""
    text = safe_repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def describe_record(record: Record, index: int, position: int | None = None) -> str:
    """How an outlet's message names record ``index`` of the list given to its ``push``:
    ``record 2 of this push (from Numbers())``, ``(no inlet)`` when its metadata has no
    ``__inlet__``; with ``position``, ``, element 1 of its list payload`` follows."""
    metadata = record.metadata
    origin = f"from {metadata['__inlet__']}" if "__inlet__" in metadata else "no inlet"
    where = f"record {index} of this push ({origin})"
    return where if position is None else f"{where}, element {position} of its list payload"
