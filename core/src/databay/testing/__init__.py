"""The conformance kit for plugin authors.

Subclass a tester in your plugin's tests, point it at your component, and pytest collects
one test per rule of the databay contract::

    from databay.testing import OutletTester

    class TestMyOutlet(OutletTester):
        def get_outlet(self):
            return MyOutlet()
"""

from databay.testing.inlet_tester import InletTester
from databay.testing.outlet_tester import OutletTester
from databay.testing.planner_tester import PlannerTester

__all__ = ["InletTester", "OutletTester", "PlannerTester"]
