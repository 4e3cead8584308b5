"""How ``databay install``/``uninstall`` read what they are given (pip itself runs in tests/test_install.py)."""

from __future__ import annotations

import re

import pytest
from databay.cli.errors import EXIT_USAGE, CliError
from databay.cli.install_cmd import _uninstallable, expand_short_name, install_target, requirement_name


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


@pytest.mark.parametrize(
    "given, expected",
    [
        ("http", "databay-http"),
        ("databay-csv[test] >= 1.0, < 2", "databay-csv[test] >= 1.0, < 2"),
        ("Databay_Kafka~=0.1", "Databay_Kafka~=0.1"),
        ("kafka===1.0.post1", "kafka===1.0.post1"),
    ],
)
def test_install_takes_names_and_requirement_specifiers(given, expected):
    assert install_target(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "-rrequirements.txt", "-r", "--index-url=https://evil.example/simple", "--target=/tmp/x",
        "-e.", "--pre", "databay-http --target=/tmp/x", "https://example.org/x-1.0-py3-none-any.whl",
        "git+https://example.org/x.git", "x @ https://example.org/x.whl", 'x; os_name == "posix"',
        "x>=1\n--index-url=https://evil.example", "", "x[", "x>=",
    ],
)
def test_install_refuses_options_urls_and_markers(given):
    with pytest.raises(CliError) as caught:
        install_target(given)
    assert caught.value.exit_code == EXIT_USAGE
    assert "is not a distribution name or requirement specifier" in str(caught.value)


@pytest.mark.parametrize("given", ["databay", "Databay==0.3.0", "databay[yaml]>=0"])
def test_install_refuses_to_replace_databay(given):
    with pytest.raises(CliError, match=f"refusing to install '{re.escape(given)}': it is databay itself"):
        install_target(given)


def test_install_takes_local_projects_as_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-plugin").mkdir()
    (tmp_path / "-r").mkdir()  # a folder whose name looks like an option is still a folder
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "x-1.0-py3-none-any.whl").write_bytes(b"")
    assert install_target("my-plugin") == str(tmp_path / "my-plugin")
    assert install_target("my-plugin", editable=True) == str(tmp_path / "my-plugin")
    assert install_target("dist/x-1.0-py3-none-any.whl") == str(tmp_path / "dist" / "x-1.0-py3-none-any.whl")
    assert install_target("dist/x-1.0-py3-none-any.whl[test]") == str(tmp_path / "dist" / "x-1.0-py3-none-any.whl") + "[test]"
    assert install_target("my-plugin[a, b]", editable=True) == str(tmp_path / "my-plugin") + "[a, b]"
    with pytest.raises(CliError):
        install_target("-r")
    with pytest.raises(CliError, match="is not a project folder: --editable installs local projects"):
        install_target("databay-http", editable=True)


@pytest.mark.parametrize("name", ["pip", "PIP", "databay", "databay==0.3.0", "typer"])
def test_uninstall_refuses_pip_databay_and_what_databay_needs(name):
    with pytest.raises(CliError, match=f"refusing to uninstall '{re.escape(name)}'"):
        _uninstallable(name)
