"""The ``databay`` logger hierarchy and the documented log format."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta

import databay
from databay import Link
from databay.logs import LOG_FORMAT, DatabayFormatter, install_default_handler
from databay.planners import SchedulePlanner
from databay.testing import CollectingOutlet, SequenceInlet


def _default_handler() -> logging.Handler:
    handlers = [h for h in logging.getLogger("databay").handlers if getattr(h, "_databay_default", False)]
    assert len(handlers) == 1
    return handlers[0]


def test_default_handler_is_installed_once_on_import():
    handler = _default_handler()
    assert install_default_handler() is handler
    assert _default_handler() is handler
    assert isinstance(handler, logging.StreamHandler)


def test_databay_logger_defaults_to_warning():
    # Tests may raise the level temporarily (caplog restores it); the default is WARNING.
    assert logging.getLogger("databay").level == logging.WARNING


def test_documented_format():
    formatter = DatabayFormatter(LOG_FORMAT)
    record = logging.LogRecord("databay.Link", logging.DEBUG, __file__, 1, "http_to_mongo.0 transfer", None, None)
    record.created = 1596138701.318
    record.msecs = 318.0
    line = formatter.format(record)
    assert re.fullmatch(
        r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.318\|D\| http_to_mongo\.0 transfer \(databay\.Link\)", line
    ), line


def test_level_is_its_initial():
    formatter = DatabayFormatter(LOG_FORMAT)
    for level, letter in [(logging.INFO, "I"), (logging.WARNING, "W"), (logging.ERROR, "E"),
                          (logging.CRITICAL, "C")]:
        record = logging.LogRecord("databay", level, __file__, 1, "m", None, None)
        assert f"|{letter}| m (databay)" in formatter.format(record)


def test_child_loggers_propagate_to_the_default_handler():
    handler = _default_handler()
    stream = io.StringIO()
    old_stream = handler.setStream(stream)
    try:
        logging.getLogger("databay.MyOutlet").warning("careful %s", 1)
        logging.getLogger("databay.MyOutlet").info("not shown at the default level")
    finally:
        handler.setStream(old_stream)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"\S+ \S+\|W\| careful 1 \(databay\.MyOutlet\)", lines[0]), lines


def test_verbose_logging_can_be_enabled_per_logger(caplog):
    caplog.set_level(logging.DEBUG, logger="databay.Link")
    link = Link(SequenceInlet(), CollectingOutlet(), timedelta(seconds=1), tags="http_to_mongo")
    link.transfer()
    messages = [(r.name, r.levelname, r.getMessage()) for r in caplog.records if r.name == "databay.Link"]
    assert messages == [
        ("databay.Link", "DEBUG", "http_to_mongo.0 transfer"),
        ("databay.Link", "DEBUG", "http_to_mongo.0 done"),
    ]


def test_planner_logs_added_links(caplog):
    caplog.set_level(logging.INFO, logger="databay")
    link = Link(SequenceInlet(), CollectingOutlet(), timedelta(seconds=5), tags="http_to_mongo")
    SchedulePlanner(link)
    added = [r for r in caplog.records if r.getMessage().startswith("Added link:")]
    assert [r.name for r in added] == ["databay.BasePlanner"]
    assert added[0].getMessage() == (
        "Added link: Link(tags:['http_to_mongo'], inlets:[SequenceInlet()], outlets:[CollectingOutlet()], "
        "interval:0:00:05)"
    )


def test_package_exposes_version():
    assert isinstance(databay.__version__, str) and databay.__version__


def _record_with_exception(message: str) -> logging.LogRecord:
    try:
        raise RuntimeError("inlet broke")
    except RuntimeError:
        import sys

        return logging.LogRecord("databay.pipeline", logging.ERROR, __file__, 1, message, None, sys.exc_info())


def test_run_logs_name_exceptions_on_one_line_without_a_traceback():
    from databay.cli.log_setup import OneLineFormatter
    from databay.logs import LOG_FORMAT

    formatter = OneLineFormatter(LOG_FORMAT)
    line = formatter.format(_record_with_exception("links[0]: transfer failed"))
    assert line.endswith("| links[0]: transfer failed (RuntimeError: inlet broke) (databay.pipeline)")
    line = formatter.format(_record_with_exception("links[0]: transfer failed: inlet broke"))
    assert line.endswith("| links[0]: transfer failed: inlet broke (RuntimeError) (databay.pipeline)")
    assert "\n" not in line and "Traceback" not in line


def test_json_logs_carry_the_traceback_only_when_asked():
    import json

    from databay.cli.log_setup import JsonFormatter

    record = _record_with_exception("failed")
    assert json.loads(JsonFormatter().format(record))["exception"] == "RuntimeError: inlet broke"
    full = json.loads(JsonFormatter(tracebacks=True).format(record))["exception"]
    assert full.startswith("Traceback") and full.endswith("RuntimeError: inlet broke")
