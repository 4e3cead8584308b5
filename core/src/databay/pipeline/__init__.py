"""Pipelines: planners and links described in a TOML or YAML file, checked, built and run.

    from databay import load_pipeline

    pipeline = load_pipeline("pipelines/todos.toml")   # checked and built: PipelineError if not
    pipeline.run()                                     # blocks; Ctrl-C/SIGTERM stop it gracefully

The format is documented in ``docs/pipelines.md``. The modules, one step each:
:mod:`~databay.pipeline.source` (reading TOML, :mod:`~databay.pipeline.yaml_document`
YAML, into a :mod:`~databay.pipeline.document`), :mod:`~databay.pipeline.environment`
(``${VAR}``), :mod:`~databay.pipeline.profiles` (credential profiles),
:mod:`~databay.pipeline.imports` (import strings), :mod:`~databay.pipeline.intervals`,
:mod:`~databay.pipeline.keys` (the reserved keys), :mod:`~databay.pipeline.typecheck` (values against type hints),
:mod:`~databay.pipeline.validate` (every problem with its place),
:mod:`~databay.pipeline.build`, :mod:`~databay.pipeline.model` (:class:`Pipeline`),
:mod:`~databay.pipeline.running` (run, run once, signals) and
:mod:`~databay.pipeline.progress` (what each link did).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from databay.pipeline.document import Format
from databay.pipeline.model import Pipeline
from databay.pipeline.problems import PipelineError, Problem
from databay.pipeline.specs import ComponentSpec, LinkSpec, PipelineSpec
from databay.plugins import PluginManager

__all__ = [
    "ComponentSpec", "LinkSpec", "Pipeline", "PipelineError", "PipelineSpec", "Problem",
    "check_pipeline", "effective_config", "load_pipeline",
]


def effective_config(spec: PipelineSpec) -> dict[str, Any]:
    """The configuration ``spec`` runs with as plain data (``databay validate --show --json``):
    defaults filled in, names resolved, and every secret shown as ``${VAR}`` or
    ``<profile NAME.KEY>``, never its value. See :mod:`databay.pipeline.effective`."""
    from databay.pipeline.effective import effective_config as config

    return config(spec)


def check_pipeline(
    source: str | os.PathLike[str],
    environ: Mapping[str, str] | None = None,
    plugins: PluginManager | None = None,
    format: Format | None = None,
    *,
    services: Mapping[str, Mapping[str, Any]] | None = None,
) -> PipelineSpec:
    """Check a pipeline without building or connecting anything.

    :param source: a path (``str`` or ``Path``) to a TOML or YAML file, or the text of one
        (a ``str`` with a line break or an ``=``).
    :param environ: where ``${VAR}`` and the profiles file are looked up (default
        ``os.environ``).
    :param plugins: the plugin manager resolving ``use`` names (default: the process's).
    :param format: ``"toml"`` or ``"yaml"``; by default a file ending in ``.yaml`` or
        ``.yml`` is YAML, anything else (and text) TOML.
    :param services: service tables to add to the file's, or arguments to merge into them
        (what ``databay run --web HOST:PORT`` does): ``{"web": {"listen": "HOST:PORT"}}``.
    :returns: what to build; its ``warnings`` say what is odd but allowed.
    :raises PipelineError: every problem found, each with its place.
    """
    from databay.pipeline.imports import import_folders
    from databay.pipeline.source import parse, read_source
    from databay.pipeline.validate import Checker
    from databay.plugins import get_plugin_manager

    text = read_source(source, format)
    document = parse(text)
    checker = Checker(plugins or get_plugin_manager(), environ, document.lines)
    data = dict(document.data)
    for name, values in (services or {}).items():
        table = data.get(name, {})
        data[name] = {**table, **values} if isinstance(table, dict) else table
    with import_folders(os.getcwd(), text.folder):
        spec = checker.pipeline(data, text.name)
    if spec is None:
        raise PipelineError(text.name, checker.problems)
    return spec


def load_pipeline(
    source: str | os.PathLike[str],
    environ: Mapping[str, str] | None = None,
    plugins: PluginManager | None = None,
    format: Format | None = None,
    *,
    services: Mapping[str, Mapping[str, Any]] | None = None,
) -> Pipeline:
    """Check and build a pipeline: its planner, with its links added, ready to run.

    Takes the arguments of :func:`check_pipeline`; its warnings are logged (logger
    ``databay.pipeline``). Constructors run here (never during the check); one that
    raises is reported at its place.

    :raises PipelineError: every problem found, each with its place.
    """
    from databay.pipeline.build import build_pipeline

    spec = check_pipeline(source, environ, plugins, format, services=services)
    for warning in spec.warnings:
        logging.getLogger("databay.pipeline").warning("%s: %s", spec.source, warning)
    return build_pipeline(spec)
