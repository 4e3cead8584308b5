"""The planner extension points: public names, and databay 0.3's underscore names still working."""

from __future__ import annotations

from unittest.mock import MagicMock, patch

import pytest
from databay import BasePlanner, Inlet, Link
from databay.testing import CollectingOutlet, SequenceInlet


def a_link() -> Link:
    return Link(SequenceInlet(), CollectingOutlet(), 60)


class Journal:
    def __init__(self, links=None):
        self.journal = []
        super().__init__(links)


class PublicPlanner(Journal, BasePlanner):
    """Implements the public extension points."""

    def schedule(self, link):
        self.journal.append("schedule")
        link.set_job(object())

    def unschedule(self, link):
        self.journal.append("unschedule")
        link.set_job(None)

    def start_planner(self):
        self.journal.append("start_planner")

    def shutdown_planner(self, wait=True):
        self.journal.append(f"shutdown_planner:{wait}")

    def on_exception(self, exception, link=None):
        self.journal.append(f"on_exception:{exception}")


# The same planner as databay 0.3 code writes it: the underscore names.
OldPlanner = type("OldPlanner", (Journal, BasePlanner), {
    f"_{name}": PublicPlanner.__dict__[name]
    for name in ("schedule", "unschedule", "start_planner", "shutdown_planner", "on_exception")
})


@pytest.mark.parametrize("planner_class", [PublicPlanner, OldPlanner])
def test_either_name_of_each_extension_point_is_called(planner_class):
    link = a_link()
    planner = planner_class(link)
    assert link.job is not None
    planner.start()
    planner.force_transfer()
    planner.shutdown(wait=False)
    planner.remove_links(link)
    assert planner.journal == ["schedule", "start_planner", "shutdown_planner:False", "unschedule"]
    assert link.job is None


@pytest.mark.parametrize("planner_class", [PublicPlanner, OldPlanner])
def test_exceptions_reach_either_name(planner_class):
    class Failing(Inlet):
        def pull(self, update):
            raise RuntimeError("boom")

    planner = planner_class(Link(Failing(), CollectingOutlet(), 60))
    planner.force_transfer()
    assert planner.journal[-1] == "on_exception:boom"


def test_a_planner_implementing_neither_name_cannot_be_made():
    class Incomplete(BasePlanner):
        def schedule(self, link):
            pass

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()


@patch.multiple(BasePlanner, __abstractmethods__=set())
def test_the_0_3_pattern_of_patching_the_underscore_names_on_an_instance():
    planner = BasePlanner()
    planner._schedule = MagicMock(side_effect=lambda link: link.set_job(object()))
    planner._start_planner = MagicMock()
    link = a_link()
    planner.add_links(link)
    planner.start()
    planner._schedule.assert_called_once_with(link)
    planner._start_planner.assert_called_once_with()
