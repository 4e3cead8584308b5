"""One connection pool per component for its whole life, on whichever loop runs it.

Checked on the server's side: every request is recorded with the client's address, one
per connection, and the server counts the connections still open.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time

from databay import Link, Update
from databay.planners import SchedulePlanner
from databay_http import HttpInlet, HttpOutlet


def run_planner_until(planner: SchedulePlanner, condition, timeout: float = 10.0) -> None:
    """Start ``planner`` in a thread, wait until ``condition()``, shut it down."""
    thread = threading.Thread(target=planner.start, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        planner.shutdown(wait=True)
        thread.join(10)
    assert not thread.is_alive(), "the planner did not shut down"
    assert condition(), "the planner did not get there in time"


def test_standalone_transfers_share_one_connection(server, collector):
    url = server.route("/todos", [{"id": 1}, {"id": 2}])
    link = Link(HttpInlet(url), collector, interval=1)
    link.on_start()
    try:
        for _ in range(20):
            link.transfer()
    finally:
        link.on_shutdown()
    assert len(collector.records) == 40
    assert len(server.seen) == 20
    assert len(server.peers()) == 1
    assert server.wait_for_no_connections() == 0  # closed on shutdown


def test_outside_start_and_shutdown_each_pull_has_a_session_of_its_own(server, collector):
    """As in databay 0.3: nothing is left open by an inlet that was never started."""
    link = Link(HttpInlet(server.route("/todos", [1])), collector, interval=1)
    for _ in range(3):
        link.transfer()
    assert collector.payloads == [1, 1, 1]
    assert len(server.peers()) == 3
    assert server.wait_for_no_connections() == 0


def test_under_a_running_planner(server, collector):
    url = server.route("/todos", [{"id": 1}])
    inlet = HttpInlet(url)
    link = Link(inlet, collector, interval=0.02, tags="planned")
    run_planner_until(SchedulePlanner(link), lambda: len(collector.records) >= 10)
    assert len(server.peers()) == 1
    assert server.wait_for_no_connections() == 0


def test_many_inlets_of_one_link_keep_one_connection_each(server, collector):
    inlets = [HttpInlet(server.route(f"/item/{n}", {"n": n})) for n in range(10)]
    link = Link(inlets, collector, interval=0.05)
    run_planner_until(SchedulePlanner(link), lambda: len(collector.records) >= 50)
    for n in range(10):
        assert len(server.peers(f"/item/{n}")) == 1
    assert len(server.peers()) == 10
    assert server.wait_for_no_connections() == 0


def test_started_outside_a_planner_then_run_by_one(server, collector):
    """Each loop that runs the inlet gets its own session; shutdown closes every one, each
    on its own loop (this thread's when it next runs)."""
    inlet = HttpInlet(server.route("/todos", [1]))
    link = Link(inlet, collector, interval=60)
    link.on_start()  # the pool opens on this thread's private loop
    link.transfer()
    planner = SchedulePlanner(link, immediate_transfer=False)
    thread = threading.Thread(target=planner.start, daemon=True)
    thread.start()
    try:
        while not planner.running and thread.is_alive():
            time.sleep(0.01)
        link.transfer()  # on the planner's loop
    finally:
        planner.shutdown()  # shuts the inlet down
        thread.join(10)
    assert not inlet.active
    link.transfer()  # a session of its own, and this thread's loop closes its old session
    assert collector.payloads == [1, 1, 1]
    assert len(server.peers()) == 3
    assert server.wait_for_no_connections() == 0


def test_an_outlet_keeps_one_connection_too(server):
    url = server.url("/echo")
    inlet = HttpInlet(server.route("/todos", [{"id": 1}]))
    outlet = HttpOutlet(url)
    link = Link(inlet, outlet, interval=0.02)
    run_planner_until(SchedulePlanner(link), lambda: len(server.peers("/echo")) and
                      sum(s.path == "/echo" for s in server.seen) >= 10)
    assert len(server.peers("/echo")) == 1
    assert len(server.peers("/todos")) == 1
    assert server.wait_for_no_connections() == 0


def test_pulls_on_loops_that_are_closed_afterwards(server):
    """``asyncio.run`` per pull (as some tests do): each loop gets a pool, and the pools
    of closed loops are let go, with their connections."""
    inlet = HttpInlet(server.route("/todos", [1, 2]))
    update = Update(["t"], 0)
    inlet.try_start()
    for _ in range(3):
        assert asyncio.run(inlet.pull(update)) == [1, 2]
    inlet.try_shutdown()
    gc.collect()
    assert server.wait_for_no_connections() == 0
    assert len(server.seen) == 3


def test_two_planners_share_an_inlet(server, collector):
    """Two loops use the inlet at the same time: each its own session, neither disturbs the
    other. (The first planner to shut down shuts the inlet down, for both.)"""
    inlet = HttpInlet(server.route("/todos", [1]))
    planners = [SchedulePlanner(Link(inlet, collector, interval=0.01)) for _ in range(2)]
    threads = [threading.Thread(target=planner.start, daemon=True) for planner in planners]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 10
        while len(collector.records) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        peers = server.peers()
    finally:
        for planner in planners:
            planner.shutdown()
        for thread in threads:
            thread.join(10)
    assert len(collector.records) >= 40
    assert len(peers) == 2
    assert server.wait_for_no_connections() == 0
