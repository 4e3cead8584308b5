"""Helpers for cross-distribution tests: the installed `databay` command and fresh venvs
(``write_pipeline`` comes from databay's own pytest plugin, :mod:`databay.testing.pytest_plugin`)."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURE_PLUGINS = Path(__file__).resolve().parent / "fixtures" / "plugins"


@dataclass
class Environment:
    """A Python environment with databay installed, and ways to run things in it."""

    bin: Path

    @property
    def python(self) -> str:
        return str(self.bin / "python")

    def run(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a command of this environment (``databay`` or ``python``), capturing output."""
        command = [str(self.bin / args[0]), *args[1:]]
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("DATABAY_")}
        full_env.update(env or {})
        return subprocess.run(command, capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout)

    def databay(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run("databay", *args, **kwargs)


@pytest.fixture(scope="session")
def installed() -> Environment:
    """The environment running the tests (the nox session has core and all plugins)."""
    return Environment(Path(sys.executable).parent)


def create_venv(path: Path, *requirements: str | Path) -> Environment:
    """Create a fresh virtual environment at ``path`` and pip install ``requirements``."""
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    environment = Environment(path / "bin")
    result = subprocess.run(
        [environment.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         *map(str, requirements)],
        capture_output=True, text=True, timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(f"pip install failed:\n{result.stdout}\n{result.stderr}")
    return environment


@pytest.fixture(scope="session")
def make_venv():
    """``make_venv(path, *requirements)``: a fresh venv with ``requirements`` pip-installed."""
    return create_venv


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository's root."""
    return REPO


@pytest.fixture(scope="module")
def mongo_uri() -> Iterator[str]:
    """A MongoDB server for the module's tests: ``$DATABAY_TEST_MONGO_URI``, or nx-27017."""
    from databay_mongo.testing import server_for_tests

    with server_for_tests() as uri:
        yield uri


@pytest.fixture(scope="session")
def fixture_plugins() -> Path:
    """The folder of the small plugin distributions the tests install."""
    return FIXTURE_PLUGINS
