"""``databay plugin new``: a complete, publishable plugin distribution from templates.

The templates are files of this package (``templates/``) rendered with
:class:`string.Template` (``$name`` placeholders). What varies with the components
chosen (the plugin module's hooks, the README's sections, the tests) is put together
here from per-kind templates and snippets.

What a user types (the author, e-mail and description) is escaped for each file it lands
in, whatever it holds: TOML strings and the package's docstring spell every control
character as an escape (:func:`databay.printable.string_literal`), the README shows the
description as text (Markdown markup backslash-escaped), the licence has the author on one
line. The command line refuses control characters before that (a mistake, there), but
:func:`render_files` and :func:`generate` are safe on their own.
"""

from __future__ import annotations

import datetime
import keyword
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from databay.catalog import FIRST_PARTY
from databay.printable import escape_controls, string_literal

KINDS = ("inlet", "outlet", "planner")
"""What a generated plugin can register."""

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


class ScaffoldError(ValueError):
    """A plugin name or a choice ``databay plugin new`` cannot use."""


class FileExistsScaffoldError(ScaffoldError):
    """Generating would overwrite a file; nothing was written."""

    def __init__(self, path: Path):
        super().__init__(f"{path} already exists; nothing was written (choose another --directory)")
        self.path = path


@dataclass(frozen=True)
class PluginNames:
    """The names of one plugin, all derived from its short name (``my-source``)."""

    short: str  # the component name: my_source
    distribution: str  # databay-my-source
    package: str  # databay_my_source
    class_prefix: str  # MySource

    @classmethod
    def from_name(cls, name: str) -> PluginNames:
        """Validate ``name`` (``kafka``, ``my-source``, ``databay-kafka``) and derive the others.

        :raises ScaffoldError: with what is wrong and what would be accepted.
        """
        short = name.strip()
        if short.lower().startswith(("databay-", "databay_")):
            short = short[len("databay-"):]
        if not _NAME.match(short):
            suggestion = re.sub(r"[^a-z0-9]+", "-", short.lower()).strip("-")
            hint = f" (like '{suggestion}')" if suggestion and _NAME.match(suggestion) else ""
            raise ScaffoldError(
                f"invalid plugin name '{name}': use lowercase letters and digits, starting with a letter, "
                f"words joined by '-' or '_'{hint}"
            )
        distribution = "databay-" + short.replace("_", "-")
        if distribution in FIRST_PARTY:
            raise ScaffoldError(f"'{name}' is taken by the first-party plugin {distribution}; choose another name")
        component = short.replace("-", "_")
        if keyword.iskeyword(component):
            component += "_"
        prefix = "".join(part.capitalize() for part in re.split(r"[-_]", short))
        return cls(component, distribution, distribution.replace("-", "_"), prefix)


def _template(relative: str) -> Template:
    return Template(resources.files(__package__).joinpath("templates", relative).read_text(encoding="utf-8"))


def _render(relative: str, values: dict[str, str]) -> str:
    return _template(relative).substitute(values)


_SURROGATE = re.compile("[\ud800-\udfff]")
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>!|~&])")
_MARKDOWN_BLOCK = re.compile(r"^(?:[#+=-]|\d+(?=[.)]))")


def _encodable(value: str) -> str:
    """``value`` with lone surrogates (from undecodable command-line bytes) as U+FFFD:
    no file can hold them."""
    return _SURROGATE.sub("\ufffd", value)


def _docstring_text(value: str) -> str:
    """``value`` for the inside of a triple-quoted docstring, which then holds exactly ``value``."""
    return string_literal(value)[1:-1]


def _markdown_text(value: str) -> str:
    """``value`` as Markdown showing it as it is, on one line: control characters written
    out, markup characters backslash-escaped, and no heading, list or quote begun."""
    text = _MARKDOWN_INLINE.sub(r"\\\1", escape_controls(value))
    start = _MARKDOWN_BLOCK.match(text)
    if start is None:
        return text
    if start.group().isdigit():  # "1." or "1)" would begin an ordered list
        return f"{start.group()}\\{text[start.end():]}"
    return "\\" + text


def render_files(
    names: PluginNames,
    kinds: tuple[str, ...],
    author: str = "",
    email: str = "",
    description: str = "",
) -> dict[str, str]:
    """The generated distribution: ``{relative path: text}``.

    :param kinds: what the plugin registers, a non-empty subset of :data:`KINDS`.
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ScaffoldError(f"a plugin registers some of {', '.join(KINDS)}, not {', '.join(unknown) or 'nothing'}")
    kinds = tuple(k for k in KINDS if k in kinds)  # a stable order
    from databay import __version__

    classes = {kind: f"{names.class_prefix}{kind.capitalize()}" for kind in kinds}
    author, email = _encodable(author), _encodable(email)
    description = " ".join(_encodable(description).split()) or _default_description(kinds)
    author_fields = [f"name = {string_literal(author)}"] if author else []
    author_fields += [f"email = {string_literal(email)}"] if email else []
    major = int(re.match(r"\d+", __version__).group())  # type: ignore[union-attr]
    values = {
        "short": names.short,
        "distribution": names.distribution,
        "package": names.package,
        "description_docstring": _docstring_text(description),
        "description_markdown": _markdown_text(description),
        "description_toml": string_literal(description),
        "authors": "{ " + ", ".join(author_fields) + " }" if author_fields else "",
        "copyright_holder": escape_controls(author) or f"the {names.distribution} authors",
        "year": str(datetime.date.today().year),
        "databay_requirement": f"databay>={__version__},<{major + 1}",
        "first_class": classes[kinds[0]],
        "first_kind": kinds[0],
        "registers_summary": ", ".join(f"the {kind} `{names.short}` (`{classes[kind]}`)" for kind in kinds),
        **{f"{kind}_class": cls for kind, cls in classes.items()},
    }
    values["lazy_entries"] = "".join(f'    "{names.package}.{kind}": ["{cls}"],\n' for kind, cls in classes.items())
    values["hooks"] = "".join(_render(f"snippets/hook_{kind}.py.tmpl", values) for kind in kinds)
    values["component_sections"] = "".join(_render(f"snippets/readme_{kind}.md.tmpl", values) for kind in kinds)
    values["pipeline"] = _pipeline(names, kinds)
    values["python_example"] = _python_example(names, classes)
    values["testing_note"] = _testing_note(kinds)
    values["components"] = "".join(f'        "{kind}": {{"{names.short}": "{names.package}.{kind}:{cls}"}},\n'
                                   for kind, cls in classes.items())
    values["component_modules"] = ", ".join(f'"{names.package}.{kind}"' for kind in kinds)
    values["example_records"] = "2" if "inlet" in kinds else "1"  # lines of examples/events.jsonl, or a die
    values["example_check"] = (
        '    written = (tmp_path / "out" / "events.jsonl").read_text(encoding="utf-8")\n'
        f'    assert len(written.splitlines()) == {values["example_records"]}\n' if "outlet" in kinds else ""
    )
    package = f"src/{names.package}"
    files = {
        "pyproject.toml": _render("pyproject.toml.tmpl", values),
        "README.md": _render("README.md.tmpl", values),
        "LICENSE": _render("LICENSE.tmpl", values),
        ".gitignore": _render("gitignore.tmpl", values),
        f"{package}/__init__.py": _render("package/__init__.py.tmpl", values),
        f"{package}/plugin.py": _render("package/plugin.py.tmpl", values),
        f"{package}/py.typed": "",
        "tests/test_plugin.py": _render("tests/test_plugin.py.tmpl", values),
        "tests/test_pipeline.py": _render("tests/test_pipeline.py.tmpl", values).rstrip("\n") + "\n",
        "examples/pipeline.toml": values["pipeline"] + "\n",
    }
    for kind in kinds:
        files[f"{package}/{kind}.py"] = _render(f"package/{kind}.py.tmpl", values)
        files[f"tests/test_{kind}.py"] = _render(f"tests/test_{kind}.py.tmpl", values)
    if "inlet" in kinds:  # what the example pipeline reads
        files["examples/events.jsonl"] = '{"id": 1, "event": "signup"}\n{"id": 2, "event": "login"}\n'
    return files


def _default_description(kinds: tuple[str, ...]) -> str:
    parts = {"inlet": "JSON Lines inlet", "outlet": "JSON Lines outlet", "planner": "active-hours planner"}
    listed = [parts[k] for k in kinds]
    joined = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]
    return f"A {joined} for databay."


def _pipeline(names: PluginNames, kinds: tuple[str, ...]) -> str:
    """A pipeline using the plugin's components, runnable from the project's folder."""
    planner = names.short if "planner" in kinds else "schedule"
    inlet = (f'{{ use = "{names.short}", filepath = "examples/events.jsonl" }}' if "inlet" in kinds
             else '{ use = "random_int", min = 1, max = 6 }')
    outlet = (f'{{ use = "{names.short}", filepath = "out/events.jsonl" }}' if "outlet" in kinds
              else '{ use = "print", only_payload = true }')
    return "\n".join([
        "# Paths are relative to the folder databay runs in: run it from the project's folder.",
        "[planner]",
        f'use = "{planner}"',
        "",
        "[[links]]",
        f'tags = ["{names.short}"]',
        'interval = "5s"',
        f"inlets = [{inlet}]",
        f"outlets = [{outlet}]",
    ])


def _python_example(names: PluginNames, classes: dict[str, str]) -> str:
    imports = ["from databay import Link"]
    inlet = f'{classes["inlet"]}("examples/events.jsonl")' if "inlet" in classes else "RandomIntInlet(1, 6)"
    outlet = f'{classes["outlet"]}("out/events.jsonl")' if "outlet" in classes else "PrintOutlet(only_payload=True)"
    planner = classes.get("planner", "SchedulePlanner")
    imports.append(f"from {names.package} import {', '.join(classes.values())}")
    if "inlet" not in classes:
        imports.append("from databay.inlets import RandomIntInlet")
    if "outlet" not in classes:
        imports.append("from databay.outlets import PrintOutlet")
    if "planner" not in classes:
        imports.append("from databay.planners import SchedulePlanner")
    return "\n".join([
        *imports,
        "",
        f'link = Link({inlet}, {outlet}, interval=5, tags="{names.short}")',
        f"{planner}(link).start()   # blocks; Ctrl-C shuts it down gracefully",
    ])


def _testing_note(kinds: tuple[str, ...]) -> str:
    kit = ", ".join(f"`databay.testing.{kind.capitalize()}Tester`" for kind in kinds)
    return (f"The tests subclass databay's conformance testers ({kit}): each rule of the plugin "
            "contract is one test. databay's pytest plugin adds fixtures for the rest (`run_transfer`, "
            "`pull_records`, `push_records`, `run_planner`, `wait_until`, `observe`, `run_pipeline`, "
            "`databay_load_plugins`, `databay_plugin_manager`).\n")


def generate(
    name: str,
    directory: Path | str | None = None,
    kinds: tuple[str, ...] = ("outlet",),
    author: str = "",
    email: str = "",
    description: str = "",
) -> tuple[Path, list[Path]]:
    """Write a new plugin distribution; return its folder and the files written.

    :param directory: the folder to write into (default ``./databay-<name>``); it may
        exist, but no file in it is ever overwritten.
    :raises ScaffoldError: for an invalid name or choice, or a file that exists
        (:class:`FileExistsScaffoldError`); nothing is written then.
    """
    names = PluginNames.from_name(name)
    root = Path(directory) if directory is not None else Path(names.distribution)
    files = render_files(names, kinds, author, email, description)
    for relative in files:
        if (root / relative).exists():
            raise FileExistsScaffoldError(root / relative)
    written = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8", newline="\n") as file:  # "x": never overwrite
            file.write(text)
        written.append(path)
    return root, written
