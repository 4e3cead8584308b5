"""databay's conformance kit, run against ApsPlanner."""

from __future__ import annotations

from databay.testing import PlannerTester
from databay_aps import ApsPlanner


class TestApsPlannerContract(PlannerTester):
    def get_planner(self, links, **options):
        return ApsPlanner(links, **options)
