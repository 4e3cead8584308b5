"""databay: scheduled data transfer. Inlets produce records, outlets consume them, links
move records on an interval, planners schedule links.

The public API, for applications and plugins alike (``docs/writing-plugins.md``):

- this package: :data:`hookimpl`, :class:`Inlet`, :class:`Outlet`, :class:`Record`,
  :class:`Update`, :data:`MetadataKey`, :data:`Processor`, :class:`Link`,
  :class:`Calendar`, :class:`RetryPolicy`, :class:`BasePlanner`, and the pipeline API
  (:func:`load_pipeline`);
- :mod:`databay.errors`, :mod:`databay.stage` (and :mod:`databay.stage.export`),
  :mod:`databay.notifier`, :mod:`databay.service`, :mod:`databay.observers`,
  :mod:`databay.pipeline`, :mod:`databay.redaction`, :mod:`databay.printable`,
  :mod:`databay.schedules` (when links are due), :mod:`databay.lazy` (package attributes
  imported on first access), :mod:`databay.engine_planner` (the base of planners running
  links on databay's engine) and :mod:`databay.testing` (the
  conformance kit);
- :mod:`databay.hookspecs` documents the hooks a plugin implements;
- databay 0.3's paths keep working for 0.3 code: ``databay.inlets``, ``databay.outlets``,
  ``databay.planners`` (components by class name), ``databay.record``, ``databay.inlet``,
  ``databay.outlet``, ``databay.link``, ``databay.support.buffers``, ``databay.misc.inlet_tester``.

Every other module is internal and may change in any release; plugins never import one
(a test of the repository fails on a first-party plugin that does).

The model is imported lazily so that ``databay plugins`` starts fast.

PYTEST_DONT_REWRITE: databay is a pytest plugin (``databay.testing.pytest_plugin``), and
pytest would warn that it cannot rewrite this package's asserts when a program imports
databay before starting pytest; under ``filterwarnings = error`` that stops pytest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from databay._version import __version__ as __version__
from databay.hookspecs import hookimpl
from databay.lazy import lazy_attributes
from databay.logs import install_default_handler

__all__ = [
    "BasePlanner", "Calendar", "Inlet", "Link", "MetadataKey", "Outlet", "Pipeline", "PipelineError", "Processor",
    "Record", "RetryPolicy", "Update", "hookimpl", "load_pipeline", "load_plugins",
]

_LAZY = {
    "Record": "databay.record",
    "Update": "databay.update",
    "Inlet": "databay.inlet",
    "Outlet": "databay.outlet",
    "MetadataKey": "databay.outlet",
    "Processor": "databay.outlet",
    "RetryPolicy": "databay.retry",
    "Link": "databay.link",
    "Calendar": "databay.calendar",
    "BasePlanner": "databay.base_planner",
    "Pipeline": "databay.pipeline",
    "PipelineError": "databay.pipeline",
    "load_pipeline": "databay.pipeline",
    "load_plugins": "databay.plugins.current",
}

if TYPE_CHECKING:
    from databay.base_planner import BasePlanner
    from databay.calendar import Calendar
    from databay.inlet import Inlet
    from databay.link import Link
    from databay.outlet import MetadataKey, Outlet, Processor
    from databay.pipeline import Pipeline, PipelineError, load_pipeline
    from databay.plugins.current import load_plugins
    from databay.record import Record
    from databay.retry import RetryPolicy
    from databay.update import Update

install_default_handler()

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
