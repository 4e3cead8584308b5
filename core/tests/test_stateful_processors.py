"""The StatefulProcessor protocol: a processor of a plugin's (not a Buffer) takes part in
flushing and staging like a Buffer does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from databay import Inlet, Link, Outlet
from databay.planners import SchedulePlanner
from databay.processors import StatefulProcessor, stateful_processors
from databay.support.buffers import Buffer
from databay.support.flushing import flush_buffers

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stateful_processor.py"


class Pairs:
    """Passes records on two at a time (written against the protocol only)."""

    def __init__(self):
        self.kept, self.flushing, self.discarded = [], False, 0

    def __call__(self, records):
        self.kept += records
        count = len(self.kept) if self.flushing else len(self.kept) // 2 * 2
        released, self.kept = self.kept[:count], self.kept[count:]
        self.flushing = False
        return released

    def held(self):
        return self.kept

    def request_flush(self):
        self.flushing = True

    def discard(self):
        self.discarded += len(self.kept)
        self.kept = []


class Sequence(Inlet):
    def __init__(self):
        super().__init__()
        self.next = 0

    def pull(self, update):
        self.next += 1
        return {"seq": self.next - 1}


class Collect(Outlet):
    def __init__(self, fail: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.seqs, self.fail = [], fail

    def push(self, records, update):
        if self.fail:
            self.fail -= 1
            raise ConnectionError("outlet down")
        self.seqs += [record.payload["seq"] for record in records]


def test_buffer_and_a_plugin_processor_implement_the_protocol():
    assert isinstance(Buffer(), StatefulProcessor) and isinstance(Pairs(), StatefulProcessor)
    assert stateful_processors([len, Pairs, Buffer()]) != [] and not isinstance(len, StatefulProcessor)


def test_what_a_plugin_processor_holds_is_delivered_at_shutdown(run_planner, wait_until):
    outlet = Collect(processors=Pairs())
    link = Link(Sequence(), outlet, 0.02)
    planner = SchedulePlanner(link)
    run_planner(planner)
    assert wait_until(lambda: len(outlet.seqs) >= 4)
    planner.shutdown()
    assert outlet.seqs == list(range(len(outlet.seqs)))
    assert outlet.seqs[-1] == link.inlets[0].next - 1  # nothing pulled was left held


def test_flush_buffers_flushes_plugin_processors_too():
    pairs = Pairs()
    outlet = Collect()
    link = Link(Sequence(), outlet, 1, processors=pairs)
    link.transfer()
    assert outlet.seqs == [] and len(pairs.held()) == 1
    flush_buffers([link])
    assert outlet.seqs == [0] and pairs.held() == []


def test_a_staged_batch_is_acknowledged_once_the_processor_released_it(tmp_path):
    path = tmp_path / "link.stage"
    outlet = Collect(processors=Pairs())
    link = Link(Sequence(), outlet, 1, stage=path)
    link.on_start()
    link.transfer()  # seq 0 held by the processor: its batch stays pending
    assert [entry.batches for entry in link.stage.backlog()] == [1]
    link.transfer()  # seq 1 releases both
    assert outlet.seqs == [0, 1] and link.stage.backlog() == []
    link.transfer()  # seq 2 held again
    link.on_shutdown()

    # After a restart, the pending batch is delivered again and fills the new processor.
    again = Collect(processors=Pairs())
    inlet = Sequence()
    inlet.next = 3
    restarted = Link(inlet, again, 1, stage=path)
    restarted.on_start()
    restarted.transfer()
    assert again.seqs == [2, 3]
    restarted.on_shutdown()


def test_a_failed_staged_push_discards_what_the_processor_held(tmp_path):
    pairs = Pairs()
    outlet = Collect(fail=1, processors=pairs)
    link = Link(Sequence(), outlet, 1, stage=tmp_path / "link.stage", ignore_exceptions=True)
    link.on_start()
    link.transfer()  # seq 0 held
    link.transfer()  # seq 1 released with 0; the push fails: both batches delivered again later
    assert outlet.seqs == [] and pairs.held() == []
    link.transfer()  # seqs 0, 1 again, then 2: released as 0, 1; 2 held
    assert outlet.seqs == [0, 1] and [r.payload["seq"] for r in pairs.held()] == [2]
    link.on_shutdown()


def test_the_example_delivers_every_record_pulled():
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    groups = [line.split(" ", 1)[1] for line in result.stdout.splitlines()]
    numbers = [int(n) for group in groups for n in group.strip("[]").split(", ")]
    # Groups of three, then whatever was held at shutdown: nothing lost, nothing twice.
    assert len(numbers) >= 3 and numbers == list(range(len(numbers)))
