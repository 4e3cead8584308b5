"""How the command line reports failures: one clear line, the right exit code.

What it prints is redacted and escaped (:mod:`databay.printable`): an error's message often
quotes input (a value, a server's answer), which must neither show a secret nor drive the
terminal. Any exception's message is shown on one line; a :class:`CliError`'s may have
several (a pipeline's problems, one a line), so whoever raises one escapes the input it
quotes onto one line (:func:`~databay.printable.printable_line`).
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Iterator

from databay.printable import printable_line, printable_lines

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A failure to report as ``Error: <message>`` with ``exit_code``; ``message`` may
    span lines (its other control characters are escaped when shown)."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE):
        super().__init__(message)
        self.exit_code = exit_code


def report(exc: BaseException, debug: bool) -> None:
    """Print ``exc`` to stderr: the message, and the traceback only when ``debug``."""
    if debug:
        print(printable_lines("".join(traceback.format_exception(exc))), end="", file=sys.stderr)
    if isinstance(exc, CliError):
        message = printable_lines(str(exc))
    else:
        message = printable_line(f"{type(exc).__name__}: {exc}")
    print(f"Error: {message}", file=sys.stderr)
    if not debug and not isinstance(exc, CliError):
        print("(run with --debug for the traceback)", file=sys.stderr)


@contextlib.contextmanager
def exit_on_error(debug: bool) -> Iterator[None]:
    """Report an exception raised in the ``with`` block (see :func:`report`) and exit with
    its code: a :class:`CliError`'s, else :data:`EXIT_FAILURE`."""
    try:
        yield
    except CliError as exc:
        report(exc, debug)
        sys.exit(exc.exit_code)
    except Exception as exc:
        report(exc, debug)
        sys.exit(EXIT_FAILURE)
