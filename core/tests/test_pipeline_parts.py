"""Pipeline parts on their own: intervals, ${VAR} expansion, values against type hints."""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Literal, Optional, Union

import pytest
from databay.pipeline.environment import EnvironmentText, InterpolationError, expand, expand_all
from databay.pipeline.intervals import IntervalError, format_interval, parse_interval
from databay.pipeline.typecheck import Mismatch, coerce
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize("written, seconds", [
    (5, 5), (0.25, 0.25), ("250ms", 0.25), ("5s", 5), ("10m", 600), ("1h", 3600), ("1d", 86400),
    ("1h30m", 5400), ("1m30s", 90), ("2d12h", 216000), ("1.5s", 1.5), ("5", 5), (" 7s ", 7), ("1H", 3600),
])
def test_intervals(written, seconds):
    assert parse_interval(written) == timedelta(seconds=seconds)


@pytest.mark.parametrize("written", ["5x", "", "s", "1s1h", "1s1s", "-5s", "5 s", True, [5], "1e3s", "nan"])
def test_not_intervals(written):
    with pytest.raises(IntervalError, match="is not an interval"):
        parse_interval(written)


@pytest.mark.parametrize("written", [0, -1, "0s", "0", float("inf")])
def test_intervals_are_positive(written):
    with pytest.raises(IntervalError, match="must be positive"):
        parse_interval(written)


@given(st.integers(min_value=1, max_value=10**8))
def test_format_interval_reads_back(milliseconds):
    seconds = milliseconds / 1000
    assert parse_interval(format_interval(seconds)).total_seconds() == pytest.approx(seconds)


ENV = {"HOST": "db.local", "PORT": "27017", "EMPTY": ""}


@pytest.mark.parametrize("written, expanded", [
    ("plain", "plain"),
    ("${HOST}", "db.local"),
    ("mongodb://${HOST}:${PORT}/x", "mongodb://db.local:27017/x"),
    ("${MISSING:-127.0.0.1}", "127.0.0.1"),
    ("${EMPTY:-fallback}", "fallback"),
    ("${HOST:-fallback}", "db.local"),
    ("${MISSING:-}", ""),
    ("cost: 5$", "cost: 5$"),
    ("$HOME", "$HOME"),
    ("$${HOST}", "${HOST}"),
    ("$$$${HOST}", "$${HOST}"),
    ("a$$b", "a$b"),
])
def test_expand(written, expanded):
    assert expand(written, ENV) == expanded


def test_a_whole_value_from_the_environment_is_marked():
    assert isinstance(expand("${PORT}", ENV), EnvironmentText)
    assert not isinstance(expand("x${PORT}", ENV), EnvironmentText)
    assert not isinstance(expand("${PORT}${PORT}", ENV), EnvironmentText)


@pytest.mark.parametrize("written, message", [
    ("${MISSING}", "environment variable MISSING is not set"),
    ("${HOST", "unclosed"),
    ("${1X}", "is not a variable"),
    ("${}", "is not a variable"),
])
def test_expand_problems(written, message):
    with pytest.raises(InterpolationError, match=message):
        expand(written, ENV)


def test_expand_all_places_problems_inside_the_value():
    value, problems = expand_all({"a": ["${HOST}", "${NOPE}"], "b": {"c": "${NOPE2}"}}, ENV)
    assert value["a"][0] == "db.local"
    assert [p.split(":")[0] for p in problems] == ["a[1]", "b.c"]


class Mode(enum.Enum):
    LINE = "line"
    FILE = "file"


@pytest.mark.parametrize("value, hint, expected", [
    (3, int, 3), (3, float, 3.0), ("x", str, "x"), (True, bool, True),
    (None, Optional[int], None), (3, Optional[int], 3), (3, int | None, 3),  # noqa: UP045
    ([1, 2], list[int], [1, 2]),
    ([1, "a"], list[Union[int, str]], [1, "a"]), ({"a": 1}, dict[str, int], {"a": 1}),
    ("line", Mode, Mode.LINE), ("FILE", Mode, Mode.FILE), ("b", Literal["a", "b"], "b"),
    ("5s", timedelta, timedelta(seconds=5)), (2, timedelta, timedelta(seconds=2)),
    ("out/x.csv", Path, Path("out/x.csv")), ("out/x.csv", Union[str, os.PathLike], "out/x.csv"),
    ("os.path:join", Callable, os.path.join), ([1, 2], tuple[int, ...], (1, 2)),
    (EnvironmentText("27017"), int, 27017), (EnvironmentText("true"), bool, True),
    (EnvironmentText("2.5"), float, 2.5), ("anything", "UnresolvedName", "anything"),
    ({"x": 1}, object, {"x": 1}),  # a class TOML can't be: not checked
])
def test_coerce(value, hint, expected):
    result = coerce(value, hint)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("value, hint, message", [
    ("3", int, "argument 'x' must be int, not str ('3')"),
    (True, int, "argument 'x' must be int, not bool (True)"),
    (1.5, int, "argument 'x' must be int, not float (1.5)"),
    ("yes", bool, "argument 'x' must be bool (true or false), not str ('yes')"),
    (3, str, "argument 'x' must be str, not int (3)"),
    ("3", Optional[int], "argument 'x' must be int, not str ('3')"),  # noqa: UP045
    ([1, "a"], list[int], "argument 'x'[1] must be int, not str ('a')"),
    (["a", 1], Union[str, list[str], None], "argument 'x'[1] must be str, not int (1)"),
    (5, Union[str, list[str], None], "argument 'x' must be str or list of str or None, not int (5)"),
    ({"a": "b"}, dict[str, int], "argument 'x'['a'] must be int, not str ('b')"),
    ("word", Mode, "argument 'x' must be one of 'line', 'file', not str ('word')"),
    ("c", Literal["a", "b"], "argument 'x' must be one of 'a', 'b', not str ('c')"),
    ("5x", timedelta, "argument 'x': '5x' is not an interval"),
    ("os.path:nope", Callable, "argument 'x': 'os.path' has no attribute 'nope'"),
    ("os:sep", Callable, "argument 'x': 'os:sep' is not callable (it is a str)"),
    (EnvironmentText("many"), int, "argument 'x' must be int, not str ('many')"),
])
def test_coerce_mismatches(value, hint, message):
    with pytest.raises(Mismatch) as caught:
        coerce(value, hint)
    assert caught.value.describe("x").startswith(message)
