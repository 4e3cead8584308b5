"""The templates of ``databay plugin new`` are safe whatever the author, e-mail and description
hold: each value is escaped for the file it lands in (TOML, a Python docstring, Markdown, the
licence's plain text), by the library function itself, not only by the command line's checks."""

from __future__ import annotations

import ast
import tomllib

import pytest
from databay.scaffold import PluginNames, generate, render_files

HOSTILE = 'Tides """ and \\d+ paths\x1b[2J\x00\x7f\u202e <script>alert(1)</script> [x](javascript:y) *b* `c` | &amp;'
AUTHOR = 'Ada\nname = "Mallory"\x1b]0;t\x07 "the Countess" L\\ovelace'
EMAIL = "ada@example.org\r\nx\x1b"
CONTROLS = [chr(c) for c in (*range(0, 9), *range(11, 32), *range(0x7F, 0xA0))] + ["\u202e", "\u2028"]


def raw_controls(text: str) -> list[str]:
    return [c for c in text if c in CONTROLS]


@pytest.fixture
def files() -> dict[str, str]:
    return render_files(PluginNames.from_name("tides"), ("inlet", "outlet"), author=AUTHOR, email=EMAIL,
                        description=HOSTILE)


def test_no_file_holds_a_raw_control_character(files):
    for path, text in files.items():
        assert raw_controls(text) == [], path


def test_pyproject_holds_the_values_exactly(files):
    project = tomllib.loads(files["pyproject.toml"])["project"]
    assert project["authors"] == [{"name": AUTHOR, "email": EMAIL}]
    assert project["description"] == " ".join(HOSTILE.split())


def test_the_package_docstring_is_the_description(files):
    for path, text in files.items():
        if path.endswith(".py"):
            ast.parse(text, path)
    module = ast.parse(files["src/databay_tides/__init__.py"])
    assert ast.get_docstring(module, clean=False).startswith(f"databay-tides: {' '.join(HOSTILE.split())}\n")


def test_the_readme_shows_the_description_as_text_not_markup(files):
    line = files["README.md"].splitlines()[2]
    for markup, shown in (("<script>", "\\<script\\>"), ("[x](", "\\[x\\]("), ("*b*", "\\*b\\*"),
                          ("`c`", "\\`c\\`"), ("&amp;", "\\&amp;")):
        assert shown in line
        assert markup not in line.replace(shown, "")
    assert "\\\\x1b\\[2J" in line  # the escape sequence, written out (its backslash escaped too)


@pytest.mark.parametrize("description, start", [("# Not a heading", "\\# Not"), ("- not a list", "\\- not"),
                                                ("1. not a list", "1\\. not"), ("> no quote", "\\> no")])
def test_a_description_never_starts_a_markdown_block(description, start):
    files = render_files(PluginNames.from_name("tides"), ("outlet",), description=description)
    assert files["README.md"].splitlines()[2].startswith(start)


def test_the_licence_names_the_author_on_one_line(files):
    [line] = [line for line in files["LICENSE"].splitlines() if line.startswith("Copyright (c)")]
    assert line.endswith('Ada\\nname = "Mallory"\\x1b]0;t\\x07 "the Countess" L\\ovelace')


def test_generate_writes_them_even_with_lone_surrogates(tmp_path):
    root, written = generate("tides", tmp_path / "out", ("outlet",), author="Ad\udce9a", description="a \udcff b")
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["authors"] == [{"name": "Ad\ufffda"}] and project["description"] == "a \ufffd b"
