"""Fixtures of databay-csv's tests: reading CSV files back (``run_planner`` and ``wait_until``
come from databay's pytest plugin)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from databay.update import Update


def _read_rows(path: Path, encoding: str = "utf-8", **fmtparams) -> list[dict[str, str]]:
    with open(path, newline="", encoding=encoding) as f:
        return list(csv.DictReader(f, **fmtparams))


@pytest.fixture
def read_rows() -> Callable[..., list[dict[str, str]]]:
    """``read_rows(path, encoding='utf-8', **fmtparams)``: the rows of a CSV file as ``csv.DictReader`` reads them."""
    return _read_rows


@pytest.fixture
def update() -> Update:
    return Update(["test"], 0)
