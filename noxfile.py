"""Test, lint and benchmark sessions. Each distribution is tested in its own venv.

    nox                      # the default sessions: core, plugins, integration, lint, types
    nox -s core              # core's unit tests
    nox -s "plugin(name='databay-csv')"
    nox -s integration       # cross-distribution tests: CLI, discovery in fresh venvs, examples
    nox -s types             # mypy on core
    nox -s bench             # benchmarks, side by side with databay 0.3.0
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PLUGINS = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())
TEST_TOOLS = ["pytest>=8", "hypothesis>=6"]

# Real servers some distributions' tests start (Debian packages): {distribution: {command: package}}.
# A session installs what is missing when it runs as root with apt-get; elsewhere those tests
# skip and say which package they need.
SYSTEM_PACKAGES: dict[str, dict[str, str]] = {
    "databay-sql": {"/usr/lib/postgresql/15/bin/postgres": "postgresql"},  # Debian 12's PostgreSQL 15
    "databay-web": {"chromium": "chromium"},  # the browser test drives Debian's Chromium with Playwright
    "databay-celery": {"redis-server": "redis-server"},
}

# Other first-party plugins a plugin's tests use, installed from this repository: {distribution: [plugins]}.
TEST_PLUGINS: dict[str, list[str]] = {
    "databay-celery": ["databay-aps"],  # cron links with the Celery planner
    "databay-web": ["databay-aps"],  # the dashboard of a pipeline on the aps planner (cron links)
}

nox.options.sessions = ["core", "plugin", "integration", "lint", "types"]
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = True


@nox.session(python="3.11")
def core(session: nox.Session) -> None:
    """Core's unit tests, with only core (and its yaml extra) installed."""
    session.install("./core[yaml]", *TEST_TOOLS)
    session.run("pytest", "core/tests", *session.posargs)


@nox.session(python="3.11")
@nox.parametrize("name", PLUGINS)
def plugin(session: nox.Session, name: str) -> None:
    """One plugin distribution's tests, with only core, that plugin and its TEST_PLUGINS installed."""
    install_system_packages(session, SYSTEM_PACKAGES.get(name, {}))
    others = [f"./plugins/{other}" for other in TEST_PLUGINS.get(name, [])]
    session.install("./core", *others, f"./plugins/{name}[test]", *TEST_TOOLS)
    session.run("pytest", f"plugins/{name}/tests", *session.posargs)


@nox.session(python="3.11")
def integration(session: nox.Session) -> None:
    """Cross-distribution tests: the installed CLI, plugin discovery in fresh venvs, examples."""
    # build: the end-to-end test of `databay plugin new` builds the generated plugin's wheel.
    for name in PLUGINS:
        install_system_packages(session, SYSTEM_PACKAGES.get(name, {}))
    session.install("./core[yaml]", *[f"./plugins/{name}[test]" for name in PLUGINS], *TEST_TOOLS, "build")
    session.run("pytest", "tests", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """Ruff on every distribution; core's import contracts (core/.importlinter: layers, no cycles)."""
    session.install("ruff", "import-linter")
    session.run("ruff", "check", "core", "plugins", "tests", "benchmarks", "examples", "noxfile.py")
    # import-linter reads the source (no install needed); no cache: always the files as they are.
    session.run("lint-imports", "--no-cache", "core/.importlinter", env={"PYTHONPATH": str(ROOT / "core" / "src")})
    # The contracts bite: a copy of core where the model imports the CLI inside a function fails both.
    with tempfile.TemporaryDirectory() as planted:
        shutil.copytree(ROOT / "core" / "src" / "databay", Path(planted) / "databay")
        with open(Path(planted) / "databay" / "record.py", "a") as record_module:
            record_module.write("\n\ndef _planted_cycle():\n    import databay.cli  # noqa: F401\n")
        session.run(
            "lint-imports", "--no-cache", "core/.importlinter", env={"PYTHONPATH": planted}, success_codes=[1]
        )


@nox.session(python="3.11")
def types(session: nox.Session) -> None:
    """Mypy on core."""
    session.install("./core", "mypy", "pytest")  # pytest: the types of databay.testing's fixtures
    session.run("mypy", "core/src/databay")
    session.run("mypy", "examples/staged_link.py")  # a typed example: the documented spellings type-check


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Benchmarks, side by side with databay 0.3.0 installed in its own venv."""
    session.install("./core", *[f"./plugins/{name}[test]" for name in PLUGINS])
    session.run("python", "benchmarks/run.py", *session.posargs)


def install_system_packages(session: nox.Session, needed: dict[str, str]) -> None:
    """Install the Debian packages whose commands are missing, when root with apt-get."""
    missing = sorted({package for command, package in needed.items() if not _has_command(command)})
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        session.warn(f"not installing {', '.join(missing)} (needs root and apt-get): their tests skip")
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-qq", external=True, env=env)
    session.run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing, external=True, env=env)


def _has_command(command: str) -> bool:
    """A command on PATH, or an absolute path (PostgreSQL's binaries are not on PATH)."""
    return Path(command).exists() if os.path.isabs(command) else shutil.which(command) is not None
