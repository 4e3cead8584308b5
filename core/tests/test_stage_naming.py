"""databay.stage.outlet_keys: the names a link's stage gives its outlets, public for plugins
(databay-web's stage gauges) and the one rule the run layer and `databay stage` follow."""

from __future__ import annotations

from databay import Link
from databay.inlets import NullInlet
from databay.outlets import NullOutlet, PrintOutlet
from databay.stage import outlet_keys


def test_outlets_are_named_by_class_with_repeats_numbered(tmp_path):
    link = Link(NullInlet(), [NullOutlet(), PrintOutlet(), NullOutlet()], 60, stage=str(tmp_path / "s.stage"))
    assert outlet_keys(link) == ["NullOutlet", "PrintOutlet", "NullOutlet#2"]


def test_a_fill_link_names_the_outlets_of_the_links_draining_it(tmp_path):
    link = Link(NullInlet(), [], 60, stage=str(tmp_path / "s.stage"), stage_role="fill",
                stage_outlets=["CsvOutlet", "CsvOutlet#2"])
    assert outlet_keys(link) == ["CsvOutlet", "CsvOutlet#2"]
