"""Cold start of ``databay plugins``, side by side with ``python -c "import typer, rich"``.

Runs in a clean venv the script builds itself (cached under ``benchmarks/results/``):
core installed non-editable, every plugin under ``plugins/`` that has a ``pyproject.toml``,
and, when neither databay-http nor databay-mongo is there, a tiny generated plugin whose
component module imports a pile of standard-library client code (the stand-in for a
heavy client). Both cases are timed as fresh subprocesses, interleaved with the baseline,
and the medians compared:

- built-ins only: ``DATABAY_LOAD_PLUGINS=`` (empty) ``databay plugins``;
- with plugins: ``databay plugins`` loading every installed plugin distribution, its
  entry points read from databay's entry-point cache (every start but the first after
  pip changed the environment);
- the first start after an install: the same with an empty cache, so that
  importlib-metadata reads the installed distributions' metadata (shown, no target: it
  happens once per change of the environment).

Target: built-ins only and with plugins each within 1.5x of ``import typer, rich``
measured in the same run. The script also checks that listing imported none of the
components' heavy client modules.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Table, median, verdict  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "benchmarks" / "results" / "venv-coldstart"
CACHE = ROOT / "benchmarks" / "results" / "cache-coldstart"  # databay's entry-point cache for these runs
RUNS = int(os.environ.get("COLD_START_RUNS", "11"))
TARGET = 1.5
# Modules a listing must never import: the plugins' clients and the stand-in's component.
HEAVY_MODULES = ["pymongo", "aiohttp", "httpx", "apscheduler", "databay_benchheavy.outlet"]

_STANDIN_PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "databay-benchheavy"
version = "0.1.0"
dependencies = ["databay"]

[project.entry-points.databay]
benchheavy = "databay_benchheavy.plugin"

[tool.hatch.build.targets.wheel]
packages = ["src/databay_benchheavy"]
"""

_STANDIN_PLUGIN = """\
from databay import hookimpl


@hookimpl
def databay_register_outlets(register):
    register("bench_heavy", "databay_benchheavy.outlet:HeavyOutlet")
"""

# A stand-in for a client library: tens of milliseconds of imports.
_STANDIN_OUTLET = """\
import asyncio
import decimal
import email.mime.multipart
import http.client
import json
import ssl
import xml.etree.ElementTree
import zipfile

from databay import Outlet


class HeavyOutlet(Outlet):
    def push(self, records, update):
        pass
"""


def plugin_dirs() -> list[Path]:
    """The plugin distributions of this repository."""
    return sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())


def standin_plugin(where: Path) -> Path:
    """Write the heavy stand-in plugin distribution under ``where``."""
    dist = where / "databay-benchheavy"
    package = dist / "src" / "databay_benchheavy"
    package.mkdir(parents=True, exist_ok=True)
    (dist / "pyproject.toml").write_text(_STANDIN_PYPROJECT)
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(_STANDIN_PLUGIN)
    (package / "outlet.py").write_text(_STANDIN_OUTLET)
    return dist


def pip(python: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
                          capture_output=True, text=True)


def prepare_venv() -> tuple[Path, list[str]]:
    """The clean venv with core (non-editable) and the plugins; names of the plugins installed."""
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    # Reinstall core and the plugins every run: the venv is cached, the code is not.
    result = pip(python, "install", "--force-reinstall", "--no-deps", str(ROOT / "core"))
    if result.returncode:
        sys.exit(f"installing core failed:\n{result.stderr}")
    result = pip(python, "install", str(ROOT / "core"))  # its dependencies, first run only
    if result.returncode:
        sys.exit(f"installing core's dependencies failed:\n{result.stderr}")
    installed = [dist.name for dist in plugin_dirs() if install(python, dist)]
    if not {"databay-http", "databay-mongo"} & set(installed):
        # No plugin with a real client: the stand-in plays its part.
        if install(python, standin_plugin(Path(tempfile.mkdtemp(prefix="databay-bench-")))):
            installed.append("databay-benchheavy (stand-in)")
    else:
        pip(python, "uninstall", "--yes", "databay-benchheavy")
    return VENV / "bin", installed


def install(python: Path, dist: Path) -> bool:
    """Install the plugin distribution ``dist`` (fresh code, cached dependencies)."""
    result = pip(python, "install", "--force-reinstall", "--no-deps", str(dist))
    if result.returncode == 0:
        result = pip(python, "install", str(dist))
    if result.returncode:
        print(f"skipped {dist.name}: pip install failed:\n{result.stderr[-600:]}", flush=True)
    return result.returncode == 0


def timed(command: list[str], env: dict[str, str]) -> float:
    """Wall time of one run of ``command`` as a fresh process."""
    with tempfile.TemporaryDirectory(prefix="databay-bench-cache-") as empty:
        if env.get("XDG_CACHE_HOME") == "":  # the first start after an install: no cache yet
            env = dict(env, XDG_CACHE_HOME=empty)
        start = time.perf_counter()
        result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return elapsed


def heavy_imports(bin_dir: Path, env: dict[str, str]) -> list[str]:
    """Which of :data:`HEAVY_MODULES` a ``databay plugins`` run imports."""
    code = (
        "import sys, contextlib, io\n"
        "from databay.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['plugins'])\n"
        f"print(','.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))\n"
    )
    result = subprocess.run([str(bin_dir / "python"), "-c", code], env=env, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"import check failed:\n{result.stderr}")
    return [m for m in result.stdout.strip().split(",") if m]


def main() -> int:
    bin_dir, plugins = prepare_venv()
    shutil.rmtree(CACHE, ignore_errors=True)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("DATABAY_")}
    base_env["XDG_CACHE_HOME"] = str(CACHE)
    builtins_env = dict(base_env, DATABAY_LOAD_PLUGINS="")
    # databay caches entry points only once the folders pip just changed are settled (2 s).
    time.sleep(2.5)
    cases = {
        "python -c 'import typer, rich'": ([str(bin_dir / "python"), "-c", "import typer, rich"], base_env),
        "databay plugins (built-ins only)": ([str(bin_dir / "databay"), "plugins"], builtins_env),
        "databay plugins (with plugins)": ([str(bin_dir / "databay"), "plugins"], base_env),
        "databay plugins (with plugins, first start after an install)": (
            [str(bin_dir / "databay"), "plugins"], dict(base_env, XDG_CACHE_HOME="")),
    }
    times: dict[str, list[float]] = {label: [] for label in cases}
    for command, env in cases.values():  # warm-up: byte-compile, fill the OS caches
        timed(command, env)
    for _ in range(RUNS):  # interleaved, so that noise hits every case alike
        for label, (command, env) in cases.items():
            times[label].append(timed(command, env))

    print(f"Plugins installed: {', '.join(plugins) or 'none'}")
    baseline = median(times["python -c 'import typer, rich'"])
    table = Table(f"Cold start, median of {RUNS} runs (clean venv {VENV.name})",
                  ["command", "median ms", "min ms", "x import typer, rich"])
    for label, values in times.items():
        table.add_row(label, median(values) * 1000, min(values) * 1000, f"{median(values) / baseline:.2f}x")
    table.print()
    if not any(CACHE.glob("databay/entry-points-*.txt")):
        sys.exit(f"databay wrote no entry-point cache in {CACHE}: the 'with plugins' case read the metadata")
    leaked = heavy_imports(bin_dir, base_env)
    print(f"Heavy client modules imported by the listing: {', '.join(leaked) or 'none'}")
    verdict("cold start built-ins only / import typer, rich",
            median(times["databay plugins (built-ins only)"]) / baseline, TARGET, higher_is_better=False)
    verdict("cold start with plugins / import typer, rich",
            median(times["databay plugins (with plugins)"]) / baseline, TARGET, higher_is_better=False)
    return 0 if not leaked else 1


if __name__ == "__main__":
    sys.exit(main())
