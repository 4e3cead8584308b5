"""The deployment files of examples/scale-out agree with the repository: the Dockerfile builds
the image compose.yaml names from folders that exist, with the distributions the pipeline's
components come from; the compose services and the systemd units run real ``databay``
commands and options (checked by the installed command) on files that exist; the docs show
these very files. (Docker itself is not run here.)"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cluster_run import DATABAY

yaml = pytest.importorskip("yaml", reason="the compose file is read with PyYAML (databay-celery[test])")

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "scale-out"
DOCS = ROOT / "docs" / "scale-out.md"
DOCKERFILE = EXAMPLE / "Dockerfile"
BUILD = re.compile(r"docker build -f (\S+) -t (\S+) \.$", re.MULTILINE)
UNITS = ["databay-worker@.service", "databay-scheduler.service"]


def build_command() -> tuple[str, str]:
    """The build command the Dockerfile documents: ``(its -f path, the image's tag)``."""
    [(path, tag)] = BUILD.findall(DOCKERFILE.read_text().replace("#   ", ""))
    return path, tag


def dockerfile_argument(name: str) -> str:
    [value] = re.findall(rf'^ARG {name}="([^"]*)"$', DOCKERFILE.read_text(), re.MULTILINE)
    return value


def installed_distributions() -> set[str]:
    """The distributions the image gets by default: core and the plugins of ``ARG PLUGINS``."""
    folders = [ROOT / "core"] + [ROOT / "plugins" / name for name in dockerfile_argument("PLUGINS").split()]
    return {tomllib.loads((folder / "pyproject.toml").read_text())["project"]["name"] for folder in folders}


def check_command_line(argv: list[str]) -> None:
    """``databay SUBCOMMAND ...`` names a real subcommand and real options: the installed
    command parses it (``--help`` added: an unknown command or option is an error)."""
    assert Path(argv[0]).name == "databay", argv
    result = subprocess.run([DATABAY, *argv[1:], "--help"], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0 and "Usage: databay " + argv[1] in result.stdout, f"{argv}: {result.stderr}"


def compose() -> dict:
    return yaml.safe_load((EXAMPLE / "compose.yaml").read_text())


def test_the_dockerfile_builds_from_folders_that_exist():
    text = DOCKERFILE.read_text()
    path, _ = build_command()
    assert (ROOT / path).resolve() == DOCKERFILE
    for source in re.findall(r"^COPY (\S+) \S+$", text, re.MULTILINE):
        assert (ROOT / source).is_dir(), f"COPY {source}: no such folder in the repository"
    for name in dockerfile_argument("PLUGINS").split():
        assert (ROOT / "plugins" / name / "pyproject.toml").exists(), f"PLUGINS: no plugin folder {name}"
    assert dockerfile_argument("FLOWER").startswith("flower"), "compose.yaml's flower service needs Flower"
    assert re.search(r"pip install .*/src/core .*\$PLUGINS.*\"\$FLOWER\"", text), "the RUN line installs all three"
    ignored = (EXAMPLE / "Dockerfile.dockerignore").read_text().split()
    assert ignored[ignored.index("*"):][:3] == ["*", "!core", "!plugins"], "only core and plugins go to the build"


def test_the_docs_give_the_build_command_and_show_the_files_as_they_are():
    path, tag = build_command()
    docs = DOCS.read_text()
    assert f"docker build -f {path} -t {tag} ." in docs
    for name in ["compose.yaml", *UNITS]:
        assert (EXAMPLE / name).read_text().strip() in docs, f"docs/scale-out.md does not show {name} as it is"


def test_the_image_has_the_distributions_of_the_pipelines_components():
    pipeline = tomllib.loads((EXAMPLE / "pipeline.toml").read_text())
    components = [("planner", pipeline["planner"]["use"])]
    for link in pipeline["links"]:
        if isinstance(link.get("stage"), dict):
            components.append(("stage", link["stage"]["use"]))
        components += [("inlet", spec["use"]) for spec in link.get("inlets", [])]
        components += [("outlet", spec["use"]) for spec in link.get("outlets", [])]
    distributions = installed_distributions()
    for kind, name in sorted(set(components)):
        result = subprocess.run([DATABAY, "inspect", name, "--kind", kind, "--json"], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        provider = re.search(r'"distribution": "([^"]+)"', result.stdout).group(1)
        assert provider in distributions, f"{kind} {name} comes from {provider}, which the image does not install"


def test_compose_services_run_the_image_and_real_commands():
    _, tag = build_command()
    services = compose()["services"]
    assert services["redis"]["image"].startswith("redis:")
    pipeline_variables = set(re.findall(r"\$\{(\w+)\}", (EXAMPLE / "pipeline.toml").read_text()))
    workdir = re.findall(r"^WORKDIR (\S+)$", DOCKERFILE.read_text(), re.MULTILINE)[-1]
    for name in ("scheduler", "worker", "flower"):
        service = services[name]
        assert service["image"] == f"${{DATABAY_IMAGE:-{tag}}}", f"{name}: not the image the Dockerfile builds"
        command = service["command"]
        if command[0] == "celery":  # Flower, which the image installs (ARG FLOWER)
            assert "flower" in command and any(arg.startswith("--broker=") for arg in command)
            celery = subprocess.run([sys.executable, "-m", "celery", "--help"], capture_output=True, text=True)
            assert "--broker" in celery.stdout
            continue
        check_command_line(command)
        assert service.get("working_dir", workdir) == workdir
        mounts = dict(volume.split(":")[1::-1] for volume in service["volumes"])  # {in the container: host}
        [pipeline_file] = [arg for arg in command[2:] if arg.endswith(".toml")]
        assert pipeline_file in mounts and (EXAMPLE / mounts[pipeline_file]).is_file(), f"{name}: {pipeline_file}"
        assert pipeline_variables <= set(service["environment"]), f"{name}: the pipeline needs {pipeline_variables}"


@pytest.mark.parametrize("name", UNITS)
def test_systemd_units_run_real_commands(name):
    unit = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",))
    unit.optionxform = str  # systemd's keys are case-sensitive
    unit.read_string((EXAMPLE / name).read_text())
    assert unit.sections() == ["Unit", "Service", "Install"]
    service = unit["Service"]
    assert {"User", "WorkingDirectory", "EnvironmentFile", "ExecStart", "Restart"} <= set(service)
    argv = shlex.split(service["ExecStart"])
    assert argv[0].startswith("/") and argv[0].endswith("/bin/databay"), "ExecStart needs an absolute path"
    check_command_line(argv)
    [pipeline_file] = [arg for arg in argv[2:] if arg.endswith(".toml")]
    assert Path(pipeline_file).parent == Path(service["WorkingDirectory"])
    assert (EXAMPLE / Path(pipeline_file).name).is_file(), f"{name}: no example file {Path(pipeline_file).name}"
    assert service["KillSignal"] == "SIGTERM", "workers finish the transfers in flight on SIGTERM"
