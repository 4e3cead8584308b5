"""How ``databay install``/``uninstall`` read what they are given (pip itself runs in tests/test_install.py)."""

from __future__ import annotations

import pytest
from databay.cli.install_cmd import expand_short_name, requirement_name


@pytest.mark.parametrize(
    "given, expected",
    [
        ("http", "databay-http"),
        ("HTTP>=1.0", "databay-http>=1.0"),
        ("mongo[test]", "databay-mongo[test]"),
        ("aps==1.0.0a1", "databay-aps==1.0.0a1"),
        ("databay-csv", "databay-csv"),
        ("kafka", "kafka"),  # not a first-party name: pip gets it as written
        ("./http", "./http"),
        ("https://example.org/databay_http-1.0-py3-none-any.whl", "https://example.org/databay_http-1.0-py3-none-any.whl"),
    ],
)
def test_first_party_short_names_mean_their_distribution(given, expected):
    assert expand_short_name(given) == expected


def test_a_folder_named_like_a_short_name_is_left_to_pip(tmp_path, monkeypatch):
    (tmp_path / "csv").mkdir()
    monkeypatch.chdir(tmp_path)
    assert expand_short_name("csv") == "csv"


@pytest.mark.parametrize(
    "requirement, name",
    [
        ("Databay==1.0", "databay"),
        ("DATABAY", "databay"),
        ("databay[cli]", "databay"),
        ("databay_http >= 1", "databay-http"),
        ("Databay.Example", "databay-example"),
        ("./databay", None),
        ("dist/databay_x-1.0-py3-none-any.whl", None),
        ("databay_x-1.0.tar.gz", None),
        ("databay_", None),
    ],
)
def test_the_distribution_a_requirement_names(requirement, name):
    assert requirement_name(requirement) == name
