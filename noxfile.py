"""Test, lint and benchmark sessions. Each distribution is tested in its own venv.

    nox                      # the default sessions: core, plugins, integration, lint, types
    nox -s core              # core's unit tests
    nox -s "plugin(name='databay-csv')"
    nox -s integration       # cross-distribution tests: CLI, discovery in fresh venvs, examples
    nox -s types             # mypy on core
    nox -s bench             # benchmarks, side by side with databay 0.3.0
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).parent
PLUGINS = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())
TEST_TOOLS = ["pytest>=8", "hypothesis>=6"]

nox.options.sessions = ["core", "plugin", "integration", "lint", "types"]
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = True


@nox.session(python="3.11")
def core(session: nox.Session) -> None:
    """Core's unit tests, with only core installed."""
    session.install("./core", *TEST_TOOLS)
    session.run("pytest", "core/tests", *session.posargs)


@nox.session(python="3.11")
@nox.parametrize("name", PLUGINS)
def plugin(session: nox.Session, name: str) -> None:
    """One plugin distribution's tests, with only core and that plugin installed."""
    session.install("./core", f"./plugins/{name}[test]", *TEST_TOOLS)
    session.run("pytest", f"plugins/{name}/tests", *session.posargs)


@nox.session(python="3.11")
def integration(session: nox.Session) -> None:
    """Cross-distribution tests: the installed CLI, plugin discovery in fresh venvs, examples."""
    # build: the end-to-end test of `databay plugin new` builds the generated plugin's wheel.
    session.install("./core", *[f"./plugins/{name}[test]" for name in PLUGINS], *TEST_TOOLS, "build")
    session.run("pytest", "tests", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """Ruff on every distribution."""
    session.install("ruff")
    session.run("ruff", "check", "core", "plugins", "tests", "benchmarks", "examples", "noxfile.py")


@nox.session(python="3.11")
def types(session: nox.Session) -> None:
    """Mypy on core."""
    session.install("./core", "mypy", "pytest")  # pytest: the types of databay.testing's fixtures
    session.run("mypy", "core/src/databay")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Benchmarks, side by side with databay 0.3.0 installed in its own venv."""
    session.install("./core", *[f"./plugins/{name}[test]" for name in PLUGINS])
    session.run("python", "benchmarks/run.py", *session.posargs)
