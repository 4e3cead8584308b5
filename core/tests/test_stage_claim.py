"""Stages several processes use in turn: a link takes the stage's state again when
``Stage.claim()`` says another process committed meanwhile (docs/reliability.md)."""

from __future__ import annotations

from databay import Link
from databay.stage import SqliteStage
from databay.support.buffers import Buffer
from databay.testing import CollectingOutlet, SequenceInlet


def numbers(per_pull: int = 3) -> SequenceInlet:
    """0, 1, 2... ``per_pull`` of them at each pull; its position (kept by a stage) is the next number."""
    return SequenceInlet(per_pull, payload=int, keeps_state=True)


class TurnTakingStage(SqliteStage):
    """An SQLite stage that says, when told, that another process committed to it."""

    taken = False
    claims = 0

    def claim(self) -> bool:
        self.claims += 1
        taken, self.taken = self.taken, False
        return taken


def test_a_link_takes_the_positions_another_process_committed(tmp_path):
    path = tmp_path / "turns.stage"
    ours, theirs = numbers(), numbers()
    ours_out, theirs_out = CollectingOutlet(), CollectingOutlet()
    ours_stage, theirs_stage = TurnTakingStage(path), TurnTakingStage(path)
    link = Link(ours, ours_out, 1, tags="turns", stage=ours_stage)
    other = Link(theirs, theirs_out, 1, tags="turns", stage=theirs_stage)

    link.transfer()                          # 0, 1, 2
    ours_stage.close()                       # the other process takes its turn
    other.transfer()                         # restored from the stage: 3, 4, 5
    theirs_stage.close()
    ours_stage.taken = True                  # "another object committed since"
    link.transfer()                          # 6, 7, 8: not 3, 4, 5 again

    assert ours_out.payloads == [0, 1, 2, 6, 7, 8]
    assert theirs_out.payloads == [3, 4, 5]
    assert ours_stage.claims >= 2            # asked at every transfer


def test_without_a_turn_taken_nothing_is_restored(tmp_path):
    stage = TurnTakingStage(tmp_path / "alone.stage")
    inlet, outlet = numbers(), CollectingOutlet()
    link = Link(inlet, outlet, 1, stage=stage)
    link.transfer()
    inlet.next = 30                          # the inlet moved on by itself: kept
    link.transfer()
    assert outlet.payloads == [0, 1, 2, 30, 31, 32]


def test_a_link_buffer_is_refilled_from_the_intake_after_a_turn(tmp_path):
    path = tmp_path / "buffered.stage"
    buffer = Buffer(count_threshold=4)
    stage = TurnTakingStage(path)
    outlet = CollectingOutlet()
    link = Link(numbers(2), outlet, 1, stage=stage, processors=[buffer])
    link.transfer()                          # the buffer holds 0, 1 (also in the intake)
    assert buffer.held() and outlet.payloads == []
    stage.taken = True
    link.transfer()                          # discarded, refilled from the intake: 0, 1, 2, 3
    stage.taken = True
    link.transfer()                          # 0..5: more than 4, released
    assert outlet.payloads == [0, 1, 2, 3, 4, 5]


def test_the_sqlite_stage_is_never_asked(tmp_path):
    link = Link(numbers(), CollectingOutlet(), 1, stage=SqliteStage(tmp_path / "plain.stage"))
    link.transfer()
    assert SqliteStage.claim(link.stage) is False
