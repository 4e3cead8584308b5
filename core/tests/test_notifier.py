"""Notifier: observer hooks become events, filtered, rate-limited, sent off the transfer's thread."""

from __future__ import annotations

import threading
import time

import pytest
from databay import Inlet, Link, Outlet
from databay.notifier import Notifier
from databay.retry import RetryPolicy
from databay.testing import CollectingOutlet


class Collected(Notifier):
    """Keeps what it is asked to send."""

    def __init__(self, *args, delay: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.messages: list[tuple[list, int, str]] = []
        self.delay = delay
        self.arrived = threading.Condition()

    def send(self, events, held_back):
        time.sleep(self.delay)
        with self.arrived:
            self.messages.append((events, held_back, threading.current_thread().name))
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)


class Fails(Inlet):
    def pull(self, update):
        raise ConnectionError("source down")


class Numbers(Inlet):
    def pull(self, update):
        return [1, 2]


class Down(Outlet):
    def push(self, records, update):
        raise ConnectionError("sink down")


def test_a_failed_transfer_is_sent_with_its_traceback_off_the_transfer_thread(observe):
    notifier = observe(Collected())
    with pytest.raises(ConnectionError):
        Link(Fails(), CollectingOutlet(), interval=1, tags="orders").transfer()
    assert notifier.wait_for(1)
    [(events, held_back, thread)] = notifier.messages
    [event] = events
    assert (event.kind, event.link, event.update, held_back) == ("failed", "orders", "orders.0", 0)
    assert event.subject == "transfer orders.0 failed: ConnectionError: source down"
    assert "Traceback" in event.details and "raise ConnectionError" in event.details
    assert thread == "databay-Collected"


def test_a_dead_letter_says_which_batch_where_and_how_to_replay_it(observe, tmp_path):
    notifier = observe(Collected())
    link = Link(Numbers(), Down(), interval=1, tags="orders", stage=tmp_path / "s.stage",
                retry=RetryPolicy(attempts=2, initial_delay=0, max_delay=0))
    link.transfer()
    link.on_shutdown()
    assert notifier.wait_for(1)
    [event] = notifier.messages[0][0]
    uid = link.stage.uid
    assert event.kind == "dead_lettered"
    assert event.subject == (f"batch {uid}:1 dead-lettered for Down in transfer orders.0: "
                             f"ConnectionError: sink down")
    assert f"stage: {tmp_path / 's.stage'}" in event.details and "(2 records)" in event.details
    assert "attempts: 2" in event.details and "databay stage PIPELINE --replay" in event.details


def test_only_the_chosen_events_are_sent(observe):
    notifier = observe(Collected(events=["finished"]))
    Link(Numbers(), CollectingOutlet(), interval=1, tags="t").transfer()
    with pytest.raises(ConnectionError):
        Link(Fails(), CollectingOutlet(), interval=1, tags="t").transfer()
    assert notifier.wait_for(1)
    notifier.close()
    assert [[e.kind for e in events] for events, _, _ in notifier.messages] == [["finished"]]
    assert "records pushed: 2" in notifier.messages[0][0][0].details


def test_an_outage_sends_a_few_messages_and_one_summary_of_the_rest(observe):
    notifier = observe(Collected(max_messages=3, per_seconds=0.5, delay=0.01))
    link = Link(Fails(), CollectingOutlet(), interval=1, tags="t", ignore_exceptions=False)
    for _ in range(40):
        with pytest.raises(ConnectionError):
            link.transfer()
        time.sleep(0.002)
    assert notifier.wait_for(4, timeout=5)
    notifier.close()
    counts = [(len(events), held_back) for events, held_back, _ in notifier.messages]
    assert sum(n for n, _ in counts) == 40, counts  # nothing is dropped
    assert len(counts) <= 5, counts  # 3 in the first window, then summaries
    assert counts[-1][1] == counts[-1][0] > 1, counts  # the last one says they were held back


def test_close_sends_what_the_rate_limit_still_holds(observe):
    notifier = observe(Collected(max_messages=1, per_seconds=3600))
    link = Link(Fails(), CollectingOutlet(), interval=1, tags="t")
    for _ in range(5):
        with pytest.raises(ConnectionError):
            link.transfer()
    assert notifier.wait_for(1)
    time.sleep(0.05)
    assert len(notifier.messages) == 1
    notifier.close()
    assert [(len(events), held_back) for events, held_back, _ in notifier.messages][1] == (4, 4)


def test_a_failing_send_is_logged_and_the_notifier_goes_on(observe, caplog):
    class Flaky(Collected):
        def send(self, events, held_back):
            if not getattr(self, "failed_once", False):
                self.failed_once = True
                raise OSError("mail server down")
            super().send(events, held_back)

    notifier = observe(Flaky())
    link = Link(Fails(), CollectingOutlet(), interval=1, tags="t")
    with pytest.raises(ConnectionError):
        link.transfer()
    time.sleep(0.1)
    with pytest.raises(ConnectionError):
        link.transfer()
    assert notifier.wait_for(1)
    assert "could not send a message about 1 event(s)" in caplog.text


@pytest.mark.parametrize("kwargs, message", [
    ({"events": ["failed", "oops"]}, "unknown event 'oops'; events are failed, dead_lettered, finished"),
    ({"max_messages": 0}, "max_messages must be a positive integer, got 0"),
    ({"per_seconds": -1}, "per_seconds must be a positive number, got -1"),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Collected(**kwargs)
