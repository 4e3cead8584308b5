"""What databay prints never shows a registered secret, and untrusted text never drives the terminal.

The sinks: the ``databay`` logger's default formatter, ``run``'s text and JSON formatters, the
command line's error report (with and without ``--debug``), and the live view.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import textwrap

import pytest
from databay import load_pipeline
from databay.cli.errors import CliError, report
from databay.cli.live_view import LiveView
from databay.cli.log_setup import JsonFormatter, OneLineFormatter
from databay.logs import LOG_FORMAT, DatabayFormatter
from databay.pipeline.progress import ProgressTracker
from databay.printable import escape_controls, printable_line, printable_lines
from rich.console import Console

SECRET = "hunter2-s3cr3t-token"
HOSTILE = "tag\nFAKE|E| forged line\x1b[2J\x1b]0;title\x07\x9b31m"


@pytest.fixture(autouse=True)
def secret(databay_secret):
    return databay_secret(SECRET, "${API_KEY}")


def raw_controls(text: str) -> list[str]:
    """The control characters left in ``text`` (newlines apart)."""
    return [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]


# -- the escaping itself -------------------------------------------------------------


def test_control_characters_are_written_as_repr_writes_them():
    assert escape_controls("a\nb\rc\x1b[31md\x07\x9b\u2028\u202e\tz") == \
        "a\\nb\\rc\\x1b[31md\\x07\\x9b\\u2028\\u202e\tz"
    assert escape_controls("line one\nline two\x1b", keep_newlines=True) == "line one\nline two\\x1b"
    assert escape_controls("plain text, ünïcode ✓") == "plain text, ünïcode ✓"


def test_printable_redacts_before_escaping():
    assert printable_line(f"key={SECRET}\nnext") == "key=${API_KEY}\\nnext"
    assert printable_lines(f"key={SECRET}\nnext\x1b") == "key=${API_KEY}\nnext\\x1b"


# -- log formatters ------------------------------------------------------------------


def _record(message: str, *args, exc: BaseException | None = None, stack: str | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    record = logging.LogRecord("databay.Link", logging.ERROR, __file__, 1, message, args, exc_info)
    record.stack_info = stack
    return record


def _raised(message: str) -> BaseException:
    try:
        raise RuntimeError(message)
    except RuntimeError as exc:
        return exc


@pytest.mark.parametrize("formatter", [DatabayFormatter(LOG_FORMAT), OneLineFormatter(LOG_FORMAT)],
                         ids=["default handler", "run --log-format text"])
def test_a_text_log_record_is_one_line_without_secrets_or_controls(formatter):
    line = formatter.format(_record("%s transfer failed: %s", HOSTILE, f"token {SECRET}"))
    assert "\n" not in line and raw_controls(line) == []
    assert SECRET not in line and "${API_KEY}" in line
    assert "tag\\nFAKE|E| forged line\\x1b[2J" in line


def test_a_traceback_keeps_its_lines_but_loses_secrets_and_controls():
    formatter = DatabayFormatter(LOG_FORMAT)
    text = formatter.format(_record("failed", exc=_raised(f"bad key {SECRET}\x1b[2J\nsecond line"),
                                    stack=f"Stack (most recent call last):\n  {SECRET}"))
    first, *rest = text.split("\n")
    assert first.endswith("failed (databay.Link)") and "Traceback (most recent call last):" in rest
    assert SECRET not in text and raw_controls(text) == []
    assert "RuntimeError: bad key ${API_KEY}\\x1b[2J" in text


def test_run_text_format_names_the_exception_on_the_line_safely():
    line = OneLineFormatter(LOG_FORMAT).format(_record("failed", exc=_raised(f"{SECRET}\x1b[2J\nforged")))
    assert "\n" not in line and raw_controls(line) == [] and SECRET not in line
    assert line.endswith("failed (RuntimeError: ${API_KEY}\\x1b[2J\\nforged) (databay.Link)")


@pytest.mark.parametrize("tracebacks", [False, True])
def test_json_log_lines_hold_no_secret_and_no_raw_control(tracebacks):
    line = JsonFormatter(tracebacks).format(
        _record("%s: %s", HOSTILE, SECRET, exc=_raised(f"key {SECRET}\x1b[2J")))
    assert "\n" not in line and raw_controls(line) == [] and SECRET not in line
    data = json.loads(line)
    assert data["message"] == f"{HOSTILE}: ${{API_KEY}}"  # the JSON value is exact, only escaped in JSON
    assert "RuntimeError: key ${API_KEY}\x1b[2J" in data["exception"]


# -- the command line's error report ---------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("error", [CliError(f"bad {SECRET}\x1b]0;pwned\x07"), ValueError(f"bad {SECRET}\x1b]0;pwned\x07")])
def test_the_error_report_is_redacted_and_escaped(capsys, debug, error):
    try:
        raise error
    except Exception as exc:
        report(exc, debug)
    err = capsys.readouterr().err
    assert SECRET not in err and raw_controls(err) == []
    assert "Error: " in err and "bad ${API_KEY}\\x1b]0;pwned\\x07" in err
    assert ("Traceback (most recent call last)" in err) == debug


# -- the live view ---------------------------------------------------------------------

NODES = '''
from databay import Inlet


class HostileInlet(Inlet):
    """Fails with a message that carries a secret and terminal escape sequences."""

    def __init__(self, key: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key = key

    def pull(self, update):
        raise RuntimeError(f"denied for key {self.key}\\x1b[2J\\x1b[H\\nERROR forged")
'''


def _pipeline(tmp_path, monkeypatch, links: int):
    (tmp_path / "hostile_nodes.py").write_text(NODES)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("hostile_nodes", None)
    hostile = textwrap.dedent(f'''
        [[links]]
        tags = ["evil\\nline\\u001b[31m"]
        interval = 1
        inlets = [{{ use = "hostile_nodes:HostileInlet", key = "{SECRET}" }}]
        outlets = ["null"]
        ''')
    plain = '[[links]]\ninterval = 1\ninlets = ["random_int"]\noutlets = ["null"]\n'
    return load_pipeline("[planner]\nignore_exceptions = true\n" + hostile + plain * (links - 1))


def test_the_live_view_shows_hostile_tags_and_errors_escaped_and_redacted(tmp_path, monkeypatch, screen):
    pipeline = _pipeline(tmp_path, monkeypatch, links=3)
    with ProgressTracker(pipeline) as tracker:
        pipeline.run_once(handle_signals=False)
    shown = "\n".join(screen(LiveView(pipeline, tracker)))
    assert SECRET not in shown and raw_controls(shown) == []
    assert "evil\\nline\\x1b[31m" in shown
    assert "RuntimeError: denied for key ${API_KEY}\\x1b[2J" in shown
    assert "3 transfers (1 failed)" in shown and "1 link failing" in shown


def test_the_live_view_shows_a_screenful_of_links_failing_first(tmp_path, monkeypatch, screen):
    pipeline = _pipeline(tmp_path, monkeypatch, links=300)
    with ProgressTracker(pipeline) as tracker:
        pipeline.run_once(handle_signals=False)
    lines = screen(LiveView(pipeline, tracker), height=30)
    rows = [line for line in lines if line.startswith("links[")]
    assert len(rows) == 30 - 6  # the terminal's height, less the lines around the rows
    assert rows[0].startswith("links[0] ")  # the failing link first
    assert "300 transfers (1 failed)" in lines[1]
    assert lines[-1].startswith("24 of 300 links: those failing first")
    assert len(screen(LiveView(pipeline, tracker, max_rows=5))) == 2 + 1 + 5 + 1


def test_the_live_view_costs_the_same_with_many_links(tmp_path, monkeypatch):
    import time

    def cost(view: LiveView) -> float:
        console = Console(file=io.StringIO(), width=200, height=40, force_terminal=True)
        started = time.process_time()
        for _ in range(10):
            console.print(view)
        return time.process_time() - started

    views = []
    for links in (20, 2000):
        pipeline = _pipeline(tmp_path, monkeypatch, links)
        with ProgressTracker(pipeline) as tracker:
            pipeline.run_once(handle_signals=False)
        views.append(LiveView(pipeline, tracker))
    cost(views[0])  # warm up
    few, many = min(cost(views[0]) for _ in range(3)), min(cost(views[1]) for _ in range(3))
    # A hundred times the links: drawing every one of them cost ~60x; a screenful costs the same.
    assert many < 3 * few + 0.01, (few, many)
