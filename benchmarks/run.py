"""Run the benchmarks side by side with databay 0.3.0.

    python benchmarks/run.py                 # every bench_*.py
    python benchmarks/run.py csv throughput  # bench_csv.py and bench_throughput.py

Prepares (once, cached) a venv with databay 0.3.0 and the clients its components need
under ``benchmarks/results/venv-databay03``, exports its interpreter as ``DATABAY03_PYTHON``
and runs each benchmark script with the current interpreter (which has this repository's
core and plugins installed). Exits non-zero if a script fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DATABAY03_VENV = RESULTS / "venv-databay03"
DATABAY03_REQUIREMENTS = ["databay==0.3.0", "aiohttp", "pymongo", "APScheduler<4"]


def prepare_databay03() -> Path:
    """The interpreter of a venv with databay 0.3.0, created on first use."""
    python = DATABAY03_VENV / "bin" / "python"
    marker = DATABAY03_VENV / ".ready"
    if not marker.exists():
        print(f"Preparing databay 0.3.0 in {DATABAY03_VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(DATABAY03_VENV)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        *DATABAY03_REQUIREMENTS], check=True)
        marker.write_text(" ".join(DATABAY03_REQUIREMENTS))
    return python


def selected_scripts(names: list[str]) -> list[Path]:
    scripts = sorted(HERE.glob("bench_*.py"))
    if not names:
        return scripts
    wanted = {name.removeprefix("bench_").removesuffix(".py") for name in names}
    unknown = wanted - {s.stem.removeprefix("bench_") for s in scripts}
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; "
                 f"available: {', '.join(s.stem.removeprefix('bench_') for s in scripts)}")
    return [s for s in scripts if s.stem.removeprefix("bench_") in wanted]


def main(argv: list[str]) -> int:
    RESULTS.mkdir(exist_ok=True)
    env = dict(os.environ, DATABAY03_PYTHON=str(prepare_databay03()))
    failed = []
    for script in selected_scripts(argv):
        print(f"\n=== {script.name} ===", flush=True)
        start = time.perf_counter()
        if subprocess.run([sys.executable, str(script)], env=env).returncode != 0:
            failed.append(script.name)
        print(f"=== {script.name}: {time.perf_counter() - start:.0f} s ===", flush=True)
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
