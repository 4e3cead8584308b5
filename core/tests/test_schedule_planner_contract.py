"""databay's conformance kit, run against SchedulePlanner."""

from __future__ import annotations

from databay.planners import SchedulePlanner
from databay.testing import PlannerTester


class TestSchedulePlannerContract(PlannerTester):
    def get_planner(self, links, **options):
        return SchedulePlanner(links, **options)
