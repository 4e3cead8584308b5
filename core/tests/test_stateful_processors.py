"""The StatefulProcessor protocol: a processor of a plugin's (not a Buffer) takes part in
flushing and staging like a Buffer does."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from databay import Link
from databay.planners import SchedulePlanner
from databay.processors import StatefulProcessor, stateful_processors
from databay.support.buffers import Buffer
from databay.support.flushing import flush_buffers
from databay.testing.planner_tester import Probe, ProbeInlet, ProbeOutlet

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stateful_processor.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stateful_processor_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EveryThird = _example().EveryThird  # written against the protocol only, as a plugin would


class FailingOnce(ProbeOutlet):
    def __init__(self):
        super().__init__(Probe())
        self.failed = False

    def push(self, records, update):
        if not self.failed:
            self.failed = True
            raise ConnectionError("outlet down")
        super().push(records, update)


def probe_outlet(*processors, outlet: ProbeOutlet | None = None) -> ProbeOutlet:
    """``outlet`` (a new ProbeOutlet by default) with ``processors``."""
    outlet = outlet if outlet is not None else ProbeOutlet(Probe())
    outlet.processors = list(processors)
    return outlet


def probe_link(outlet: ProbeOutlet, interval: float = 1, **options) -> Link:
    """A link from a ProbeInlet (it produces its transfer numbers) to ``outlet``."""
    return Link(ProbeInlet(Probe()), outlet, interval, **options)


def test_buffer_and_a_plugin_processor_implement_the_protocol():
    assert isinstance(Buffer(), StatefulProcessor) and isinstance(EveryThird(), StatefulProcessor)
    assert stateful_processors([len, Buffer(), EveryThird()]) != [] and not isinstance(len, StatefulProcessor)


def test_what_a_plugin_processor_holds_is_delivered_at_shutdown(run_planner, wait_until):
    outlet = probe_outlet(EveryThird())
    link = probe_link(outlet, 0.02)
    planner = SchedulePlanner(link)
    run_planner(planner)
    assert wait_until(lambda: len(outlet.payloads) >= 6)
    planner.shutdown()
    pulled = link.inlets[0].probe.count
    assert outlet.payloads == list(range(pulled))  # nothing pulled was left held


def test_flush_buffers_flushes_plugin_processors_too():
    every_third = EveryThird()
    outlet = probe_outlet()
    link = probe_link(outlet, processors=every_third)
    link.transfer()
    assert outlet.payloads == [] and len(every_third.held()) == 1
    flush_buffers([link])
    assert outlet.payloads == [0] and every_third.held() == []


def test_a_staged_batch_is_acknowledged_once_the_processor_released_it(tmp_path):
    path = tmp_path / "link.stage"
    outlet = probe_outlet(EveryThird())
    link = probe_link(outlet, stage=path)
    link.on_start()
    link.transfer()
    link.transfer()  # 0 and 1 held by the processor: their batches stay pending
    assert [entry.batches for entry in link.stage.backlog()] == [2]
    link.transfer()  # 2 releases all three
    assert outlet.payloads == [0, 1, 2] and link.stage.backlog() == []
    link.transfer()  # 3 held again
    link.on_shutdown()

    # After a restart, the pending batch is delivered again and fills the new processor
    # (the new link numbers its transfers from 0 again).
    again = probe_outlet(EveryThird())
    restarted = probe_link(again, stage=path)
    restarted.on_start()
    restarted.transfer()
    restarted.transfer()
    assert again.payloads == [3, 0, 1]
    restarted.on_shutdown()


def test_a_failed_staged_push_delivers_the_batches_again_once(tmp_path):
    every_third = EveryThird()
    outlet = probe_outlet(every_third, outlet=FailingOnce())
    link = probe_link(outlet, stage=tmp_path / "link.stage", ignore_exceptions=True)
    link.on_start()
    for _ in range(3):  # the third releases 0-2; that push fails: their batches stay pending
        link.transfer()
    assert outlet.payloads == [] and every_third.held() == []
    link.transfer()  # 0-2 again (released once more), then 3, held
    assert outlet.payloads == [0, 1, 2] and [r.payload for r in every_third.held()] == [3]
    link.on_shutdown()


def test_the_example_delivers_every_record_pulled():
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    groups = [line.split(" ", 1)[1] for line in result.stdout.splitlines()]
    numbers = [int(n) for group in groups for n in group.strip("[]").split(", ")]
    # Groups of three, then whatever was held at shutdown: nothing lost, nothing twice.
    assert len(numbers) >= 3 and numbers == list(range(len(numbers)))
