"""The conformance kit for plugin authors.

Subclass a tester in your plugin's tests, point it at your component, and pytest collects
one test per rule of the databay contract::

    from databay.testing import OutletTester

    class TestMyOutlet(OutletTester):
        def get_outlet(self):
            return MyOutlet()

:class:`PluginTester` checks the installed distribution as a whole (what it registers,
lazily, and ``databay plugins --check``); :func:`plugin_listing` tells what listing an
installed plugin registers and imports, from a fresh interpreter; :class:`FakeClock` is a
wall clock for calendar schedules under test; :class:`ServerProcess` runs a server your
tests need on a loopback port (:func:`free_port`), and :class:`ManagedServer` is the base
of a plugin's own server helper (``with`` runs it). :mod:`databay.testing.nodes` has inlets,
outlets and outlet mixins for tests on links (:class:`SequenceInlet`, :class:`GrowingInlet`,
:class:`CollectingOutlet`, :class:`LosesTheAnswer`, :class:`TimesPushes`);
:func:`run_through_an_outage` checks that a staged link rides out its server's outage
(:class:`SwitchedOutlet` is an outage a test switches with a file, for a ``databay run`` of
its own), and
:func:`kill_at_random_moments` is the harness of a crash test; :func:`check_readme_example`
checks that a README's example prints what the README says; :func:`interrupt_at_first_pull`
presses Ctrl-C while a planner transfers, in a process of its own.

The testers load on first access, so that the pytest plugin of this package
(:mod:`databay.testing.pytest_plugin`, loaded by pytest in every session of an
environment where databay is installed) costs nothing to projects that don't use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from databay.lazy import lazy_attributes

__all__ = [
    "CollectingOutlet", "FakeClock", "GrowingInlet", "InletTester", "Kills", "LosesTheAnswer", "ManagedServer",
    "OutletTester", "PlannerTester", "PluginListing", "PluginTester", "PushAttempt", "SequenceInlet", "ServerProcess",
    "StageTester", "SwitchedOutlet", "TimesPushes", "accepts_connections", "check_readme_example", "free_port",
    "interrupt_at_first_pull", "kill_at_random_moments", "plugin_listing", "retried_batches", "retry_waits",
    "run_through_an_outage",
]

_LAZY = {
    "FakeClock": "databay.testing.clock",
    "InletTester": "databay.testing.inlet_tester",
    "OutletTester": "databay.testing.outlet_tester",
    "PlannerTester": "databay.testing.planner_tester",
    "PluginTester": "databay.testing.plugin_tester",
    "PluginListing": "databay.testing.listing",
    "plugin_listing": "databay.testing.listing",
    "StageTester": "databay.testing.stage_tester",
    "ServerProcess": "databay.testing.server_process",
    "ManagedServer": "databay.testing.server_process",
    "accepts_connections": "databay.testing.server_process",
    "free_port": "databay.testing.server_process",
    **dict.fromkeys(["CollectingOutlet", "GrowingInlet", "LosesTheAnswer", "PushAttempt", "SequenceInlet",
                     "TimesPushes", "retry_waits"], "databay.testing.nodes"),
    "Kills": "databay.testing.crash",
    "kill_at_random_moments": "databay.testing.crash",
    "check_readme_example": "databay.testing.readme",
    "interrupt_at_first_pull": "databay.testing.interrupt",
    "SwitchedOutlet": "databay.testing.outage",
    "retried_batches": "databay.testing.outage",
    "run_through_an_outage": "databay.testing.outage",
}

if TYPE_CHECKING:
    from databay.testing.clock import FakeClock
    from databay.testing.crash import Kills, kill_at_random_moments
    from databay.testing.inlet_tester import InletTester
    from databay.testing.interrupt import interrupt_at_first_pull
    from databay.testing.listing import PluginListing, plugin_listing
    from databay.testing.nodes import (
        CollectingOutlet,
        GrowingInlet,
        LosesTheAnswer,
        PushAttempt,
        SequenceInlet,
        TimesPushes,
        retry_waits,
    )
    from databay.testing.outage import SwitchedOutlet, retried_batches, run_through_an_outage
    from databay.testing.outlet_tester import OutletTester
    from databay.testing.planner_tester import PlannerTester
    from databay.testing.plugin_tester import PluginTester
    from databay.testing.readme import check_readme_example
    from databay.testing.server_process import ManagedServer, ServerProcess, accepts_connections, free_port
    from databay.testing.stage_tester import StageTester

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
