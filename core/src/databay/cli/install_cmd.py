"""``databay install`` and ``databay uninstall``: plugin distributions in databay's own environment.

Both run pip on the interpreter running this ``databay`` (``sys.executable -m pip``), so a
plugin lands exactly where this ``databay`` looks for plugins, whichever virtual
environment that is. After installing, the plugins are listed by a fresh ``python -m
databay`` process: this one loaded its plugins before pip changed anything.

What they hand pip is checked first: distribution names and requirement specifiers
(``databay-http``, ``databay-csv[test]>=1.0,<2``), or paths of local projects, wheels and
source archives, never anything pip would read as an option (``-r FILE``,
``--index-url=...``, ``--target=...``); they come after ``--``. Neither replaces databay
itself, and ``uninstall`` never removes pip or what databay needs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import typer

from databay.catalog import first_party_distribution
from databay.cli.errors import EXIT_FAILURE, EXIT_USAGE, CliError
from databay.plugins import CORE_DISTRIBUTION, KINDS, get_plugin_manager, normalize
from databay.printable import printable_line

# The name at the start of a requirement: "databay-http", "databay_http[extra]>=1.0", ...
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?=$|[\[<>=!~;@ ])")

# What install accepts as a requirement (PEP 508 without URLs and markers): a name, extras,
# version specifiers. "databay-http", "databay-csv[test] >= 1.0, < 2".
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_SPECIFIER = r"(?:~=|===|==|!=|<=|>=|<|>)\s*[A-Za-z0-9_.*+!-]+"
_REQUIREMENT = re.compile(
    rf"\s*(?P<name>{_NAME})\s*(?:\[\s*{_NAME}(?:\s*,\s*{_NAME})*\s*\])?\s*(?:{_SPECIFIER}(?:\s*,\s*{_SPECIFIER})*)?\s*")
_PROJECT_FILES = (".whl", ".tar.gz", ".zip")
_WITH_EXTRAS = re.compile(rf"(?P<path>.+?)(?P<extras>\[\s*{_NAME}(?:\s*,\s*{_NAME})*\s*\])?")

PROTECTED = frozenset({"pip"})
"""Distributions ``uninstall`` never removes besides databay and its requirements: the
installer these commands run."""


# -- running pip ------------------------------------------------------------------


@dataclass
class PipRun:
    """What a pip command did: its exit code, its error lines and the distributions it installed."""

    returncode: int
    errors: list[str] = field(default_factory=list)
    installed: list[str] = field(default_factory=list)
    last_lines: list[str] = field(default_factory=list)

    def reason(self) -> str:
        """Why pip failed, in pip's own words (on one line)."""
        lines = self.errors or self.last_lines[-3:] or [f"pip exited with code {self.returncode}"]
        return printable_line("; ".join(lines))


def run_pip(*args: str) -> PipRun:
    """Run ``python -m pip ARGS`` on databay's interpreter, streaming its output.

    pip's output is passed through line by line (warnings to stderr), except the
    "Requirement already satisfied" lines (one per dependency already installed) and its
    ``ERROR:`` lines: they become the reason of the one error message the caller prints.
    """
    if importlib.util.find_spec("pip") is None:
        raise CliError(f"pip is not installed in databay's environment ({sys.prefix}); "
                       f"add it with: {sys.executable} -m ensurepip")
    command = [sys.executable, "-m", "pip", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    run = PipRun(returncode=0)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          encoding="utf-8", errors="replace", env=env) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip("\n")
            if line.startswith("ERROR: "):
                run.errors.append(line[len("ERROR: "):].strip())
                continue
            if line.startswith("Successfully installed "):
                run.installed += [_name_of(item) for item in line.split()[2:]]
            if line.startswith("Requirement already satisfied: "):
                continue  # one line per dependency already there: noise
            if line.strip():
                run.last_lines.append(line.strip())
            stream = sys.stderr if line.startswith(("WARNING:", "DEPRECATION:")) else sys.stdout
            print(printable_line(line), file=stream, flush=True)  # what packages say is input
    run.returncode = process.returncode
    return run


def _name_of(name_version: str) -> str:
    """``databay-http`` from pip's ``databay-http-1.0.0`` (versions contain no ``-``)."""
    return normalize(name_version.rpartition("-")[0] or name_version)


def requirement_name(requirement: str) -> str | None:
    """The normalized distribution name a requirement starts with, ``None`` for paths and URLs."""
    if "/" in requirement or "\\" in requirement or requirement.endswith((".whl", ".tar.gz", ".zip")):
        return None
    match = _REQUIREMENT_NAME.match(requirement)
    return normalize(match.group(1)) if match else None


def expand_short_name(requirement: str) -> str:
    """``databay-http>=1`` for ``http>=1``: a first-party plugin's short name means its distribution.

    Only the first-party names (``http``, ``mongo``, ``csv``, ``aps``, ``email``) are expanded, and
    never when a file or folder of that name exists: everything else goes to pip as given.
    """
    match = _REQUIREMENT_NAME.match(requirement)
    if match is None or Path(requirement).exists():
        return requirement
    distribution = first_party_distribution(match.group(1))
    if distribution is None:
        return requirement
    return distribution + requirement[match.end(1):]


def install_target(given: str, editable: bool = False) -> str:
    """What pip gets for ``given``: a requirement (first-party short names expanded) or the
    absolute path of a local project, wheel or source archive (with its extras, if any:
    ``dist/x-1.0-py3-none-any.whl[test]``).

    :raises CliError: (usage) anything else: an option, a URL, a requirement with a marker,
        databay itself, or with ``editable`` anything but a folder.
    """
    local = _WITH_EXTRAS.fullmatch(given)
    if local is not None and given.strip() and not given.startswith("-"):
        path = Path(local.group("path"))
        if path.is_dir() or (not editable and path.is_file() and path.name.endswith(_PROJECT_FILES)):
            return str(path.resolve()) + (local.group("extras") or "")
    if editable:
        raise CliError(f"'{given}' is not a project folder: --editable installs local projects", EXIT_USAGE)
    requirement = expand_short_name(given)
    match = _REQUIREMENT.fullmatch(requirement)
    if given.startswith("-") or match is None:
        raise CliError(
            f"'{given}' is not a distribution name or requirement specifier (such as databay-http or "
            f"'databay-http>=1.0'), nor a local project, wheel or source archive; for anything else "
            f"(URLs, requirement files, pip's options) run {sys.executable} -m pip", EXIT_USAGE)
    if normalize(match.group("name")) == CORE_DISTRIBUTION:
        raise CliError(f"refusing to install '{given}': it is databay itself, which runs this command. "
                       f"Use '{sys.executable} -m pip install' if you really mean it.", EXIT_USAGE)
    return requirement.strip()


# -- install ----------------------------------------------------------------------


def install(
    names: list[str] = typer.Argument(
        ..., metavar="NAME",
        help="What to install: distribution names and requirement specifiers ('databay-http>=1.0'), "
             "or paths of local projects, wheels and source archives. "
             "A first-party short name (http, mongo, csv, s3, ftp, sql, aps, email) means databay-<name>.",
    ),
    upgrade: bool = typer.Option(False, "--upgrade", "-U", help="Upgrade to the newest available version."),
    pre: bool = typer.Option(False, "--pre", help="Include pre-release and development versions."),
    editable: bool = typer.Option(
        False, "--editable", "-e", help="Install the given project folders in editable mode (plugin development)."
    ),
    index_url: str = typer.Option("", "--index-url", "-i", metavar="URL", help="Base URL of the package index."),
    extra_index_url: str = typer.Option("", "--extra-index-url", metavar="URL", help="An extra package index."),
) -> None:
    """Install plugin distributions into databay's environment and show what they register."""
    requirements = [install_target(name, editable) for name in names]
    for name, requirement in zip(names, requirements):
        if requirement != name and not Path(requirement).is_absolute():
            print(f"{name}: the first-party plugin {requirement}")
    before = {info.name: info.version for info in get_plugin_manager().plugins.values()}
    # Values joined to their options, so that no value is read as an option of its own.
    options = [*(["--upgrade"] if upgrade else []), *(["--pre"] if pre else []),
               *([f"--index-url={index_url}"] if index_url else []),
               *([f"--extra-index-url={extra_index_url}"] if extra_index_url else [])]
    if editable:  # absolute paths of folders: nothing pip could read as an option
        targets = [arg for folder in requirements for arg in ("-e", folder)]
    else:
        targets = ["--", *requirements]
    run = run_pip("install", *options, *targets)
    if run.returncode != 0:
        raise CliError(f"pip could not install {' '.join(requirements)}: {run.reason()}", EXIT_FAILURE)
    plugins = _fresh_listing()
    wanted = set(run.installed) | {n for n in map(requirement_name, requirements) if n}
    shown = [p for p in plugins if p["name"] in wanted or before.get(p["name"]) != p["version"]]
    if not shown:
        print("No databay plugin was installed: a plugin distribution declares a 'databay' entry point "
              "(see 'databay plugin new').")
        return
    from databay.cli.plugins_view import print_table

    print_table(shown, title="Installed plugins")
    broken = [p for p in shown if p["error"]]
    if broken:
        raise CliError(printable_line("installed, but broken: "
                                      + "; ".join(f"{p['name']}: {p['error']}" for p in broken)))


def _fresh_listing() -> list[dict]:
    """The plugins as a new process finds them (``databay plugins --json``, unfiltered)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABAY_LOAD_PLUGINS", "DATABAY_STRICT_PLUGINS")}
    result = subprocess.run([sys.executable, "-m", "databay", "plugins", "--json"],
                            capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise CliError(printable_line(f"installed, but listing the plugins failed: {result.stderr.strip()}"))
    return json.loads(result.stdout)["plugins"]


# -- uninstall --------------------------------------------------------------------


def uninstall(
    names: list[str] = typer.Argument(
        ..., metavar="NAME", help="Distributions to remove; a first-party short name means databay-<name>."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Don't ask for confirmation."),
) -> None:
    """Remove plugin distributions from databay's environment (never databay itself)."""
    from importlib.metadata import PackageNotFoundError, version

    distributions: dict[str, str] = {}
    for name in names:
        distribution = _uninstallable(expand_short_name(name))
        try:
            distributions[distribution] = version(distribution)
        except PackageNotFoundError:
            raise CliError(f"{name} is not installed in databay's environment ({sys.prefix})",
                           EXIT_USAGE) from None
    plugins = get_plugin_manager().plugins
    for distribution, installed_version in distributions.items():
        info = plugins.get(distribution)
        if info is None:
            what = "not a databay plugin"
        else:
            what = "; ".join(f"{kind}s: {', '.join(c.name for c in info.of_kind(kind))}"
                             for kind in KINDS if info.of_kind(kind)) or "registers nothing"
        print(printable_line(f"{distribution} {installed_version} ({what})"))
    if not yes:
        typer.confirm(f"Uninstall {len(distributions)} distribution(s)?", abort=True)
    run = run_pip("uninstall", "--yes", "--", *distributions)
    if run.returncode != 0:
        raise CliError(f"pip could not uninstall {' '.join(distributions)}: {run.reason()}", EXIT_FAILURE)


def _uninstallable(name: str) -> str:
    """The normalized distribution ``name`` means; refuses databay and what databay needs."""
    distribution = requirement_name(name)
    if distribution is None:
        raise CliError(f"'{name}' is not a distribution name (uninstall takes names, not paths)", EXIT_USAGE)
    if distribution == CORE_DISTRIBUTION:
        raise CliError(
            f"refusing to uninstall '{name}': it is databay itself, which runs this command. "
            f"Use '{sys.executable} -m pip uninstall databay' if you really mean it.", EXIT_USAGE)
    if distribution in _core_requirements():
        raise CliError(f"refusing to uninstall '{name}': databay needs it", EXIT_USAGE)
    if distribution in PROTECTED:
        raise CliError(f"refusing to uninstall '{name}': databay install and uninstall run it", EXIT_USAGE)
    return distribution


def _core_requirements() -> set[str]:
    from importlib.metadata import PackageNotFoundError, requires

    try:
        return {n for n in map(requirement_name, requires(CORE_DISTRIBUTION) or []) if n}
    except PackageNotFoundError:  # running from a source tree
        return set()
