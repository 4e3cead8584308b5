"""CsvInlet on a staged link: its position is committed with the rows it produced and
restored on restart, so a crash between a pull and its commit loses no row."""

from __future__ import annotations

from databay import Link
from databay.stage import Stage
from databay.testing import CollectingOutlet
from databay_csv import CsvInlet


def append(path, *numbers):
    with open(path, "a", encoding="utf-8") as f:
        if f.tell() == 0:
            f.write("n\n")
        f.writelines(f"{n}\n" for n in numbers)


def test_the_position_is_committed_with_the_rows_and_restored(tmp_path):
    source, stage = tmp_path / "in.csv", tmp_path / "in.stage"
    append(source, 1, 2)
    keep = CollectingOutlet()
    link = Link(CsvInlet(source), keep, interval=1, stage=stage)
    link.on_start()
    link.transfer()
    link.on_shutdown()
    with Stage(stage) as opened:
        assert opened.inlet_states()["CsvInlet"]["offset"] == source.stat().st_size
    append(source, 3)
    keep2 = CollectingOutlet()
    link2 = Link(CsvInlet(source), keep2, interval=1, stage=stage)
    link2.on_start()
    link2.transfer()
    link2.on_shutdown()
    assert (keep.payloads, keep2.payloads) == ([{"n": "1"}, {"n": "2"}], [{"n": "3"}])


def test_rows_pulled_but_never_committed_are_read_again(tmp_path):
    source, stage = tmp_path / "in.csv", tmp_path / "in.stage"
    append(source, 1)
    link = Link(CsvInlet(source), CollectingOutlet(), interval=1, stage=stage)
    link.transfer()
    link.on_shutdown()
    append(source, 2, 3)
    crashed = CsvInlet(source)  # a run that pulled 2 and 3, then died before committing them
    crashed.set_state(Stage(stage).open().inlet_states()["CsvInlet"])
    assert [row["n"] for row in crashed.pull(None)] == ["2", "3"]
    keep = CollectingOutlet()
    restarted = Link(CsvInlet(source), keep, interval=1, stage=stage)
    restarted.on_start()
    restarted.transfer()
    restarted.on_shutdown()
    assert keep.payloads == [{"n": "2"}, {"n": "3"}]
