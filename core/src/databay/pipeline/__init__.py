"""Pipelines: planners and links described in a TOML file, checked, built and run.

    from databay import load_pipeline

    pipeline = load_pipeline("pipelines/todos.toml")   # checked and built: PipelineError if not
    pipeline.run()                                     # blocks; Ctrl-C/SIGTERM stop it gracefully

The format is documented in ``docs/pipelines.md``. The modules, one step each:
:mod:`~databay.pipeline.source` (reading TOML), :mod:`~databay.pipeline.environment`
(``${VAR}``), :mod:`~databay.pipeline.intervals`, :mod:`~databay.pipeline.keys` (the
reserved keys), :mod:`~databay.pipeline.typecheck` (values against type hints),
:mod:`~databay.pipeline.validate` (every problem with its place),
:mod:`~databay.pipeline.build`, :mod:`~databay.pipeline.model` (:class:`Pipeline`),
:mod:`~databay.pipeline.running` (run, run once, signals) and
:mod:`~databay.pipeline.progress` (what each link did).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from databay.pipeline.model import Pipeline
from databay.pipeline.problems import PipelineError, Problem
from databay.pipeline.specs import ComponentSpec, LinkSpec, PipelineSpec
from databay.plugins import PluginManager

__all__ = [
    "ComponentSpec", "LinkSpec", "Pipeline", "PipelineError", "PipelineSpec", "Problem",
    "check_pipeline", "load_pipeline",
]


def check_pipeline(
    source: str | os.PathLike[str],
    environ: Mapping[str, str] | None = None,
    plugins: PluginManager | None = None,
) -> PipelineSpec:
    """Check a pipeline without building or connecting anything.

    :param source: a path (``str`` or ``Path``) to a TOML file, or TOML text (a ``str``
        with a line break or an ``=``).
    :param environ: where ``${VAR}`` is looked up (default ``os.environ``).
    :param plugins: the plugin manager resolving ``use`` names (default: the process's).
    :returns: what to build.
    :raises PipelineError: every problem found, each with its place.
    """
    from databay.pipeline.imports import import_folders
    from databay.pipeline.source import parse, read_source
    from databay.pipeline.validate import Checker
    from databay.plugins import get_plugin_manager

    text = read_source(source)
    document = parse(text)
    checker = Checker(plugins or get_plugin_manager(), environ)
    with import_folders(os.getcwd(), text.folder):
        spec = checker.pipeline(document, text.name)
    if spec is None:
        raise PipelineError(text.name, checker.problems)
    return spec


def load_pipeline(
    source: str | os.PathLike[str],
    environ: Mapping[str, str] | None = None,
    plugins: PluginManager | None = None,
) -> Pipeline:
    """Check and build a pipeline: its planner, with its links added, ready to run.

    Takes the arguments of :func:`check_pipeline`. Constructors run here (never during
    the check); one that raises is reported at its place.

    :raises PipelineError: every problem found, each with its place.
    """
    from databay.pipeline.build import build_pipeline

    return build_pipeline(check_pipeline(source, environ, plugins))
