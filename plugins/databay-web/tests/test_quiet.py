"""Readers give way to bursts (databay_web.quiet): a poll that arrives just before many links
fall due together is answered once their transfers ended, and shows them; one that arrives
in a quiet moment is answered at once; none waits for long. Built in chunks, an answer is
what it would be built in one go, and a metric family's text kept from the last scrape is
what prometheus-client would write now."""

from __future__ import annotations

import time

import pytest
from databay_web import dashboard as dashboard_module
from databay_web import quiet
from databay_web.quiet import BURST, MAX_WAIT, TOGETHER, _first_burst
from prometheus_client import generate_latest
from web_helpers import metric_samples, wait_for

LINKS = 3 * BURST


def pipeline(interval: float, seconds: float = 0.0, immediate: bool = False, links: int = LINKS) -> str:
    """``links`` links on one grid of ``interval`` seconds, each pull taking ``seconds``."""
    text = f"[planner]\nimmediate_transfer = {str(immediate).lower()}\n"
    for index in range(links):
        text += (f'[[links]]\ntags = ["l{index}"]\ninterval = {interval}\n'
                 f'inlets = [{{ use = "web_components:Counter", seconds = {seconds} }}]\n'
                 f'outlets = [{{ use = "web_components:Flaky", fail_first = 0 }}]\n')
    return text + '[web]\nlisten = "127.0.0.1:0"\n'


def next_burst(running) -> float:
    """When the links next fall due together (``time.monotonic()``)."""
    planner, link = running.pipeline.planner, running.pipeline.links[0]
    assert wait_for(lambda: planner.next_due(link) is not None)
    return planner.next_due(link)


def transfers(running, path: str) -> list[int]:
    """Every link's transfers, as ``path`` (``/api/overview`` or ``/metrics``) tells."""
    response = running.client.get(path)
    assert response.status == 200
    if path == "/metrics":
        samples = metric_samples(response.text)
        return [int(samples[("databay_transfers_total", (("link", f"l{index}"), ("outcome", "ok")))])
                for index in range(LINKS)]
    return [link["transfers"] for link in response.json()["links"]]


@pytest.mark.parametrize("path", ["/api/overview", "/metrics"])
def test_a_poll_just_before_a_burst_is_answered_after_it_and_shows_it(run_pipeline, path):
    running = run_pipeline(pipeline(interval=1, seconds=0.02))
    due = next_burst(running)
    time.sleep(max(0.0, due - 0.03 - time.monotonic()))
    asked = time.monotonic()
    counts = transfers(running, path)
    answered = time.monotonic()
    assert asked < due < answered
    # Built once every transfer of the burst ended (each pull takes 20 ms), not before it.
    assert counts == [1] * LINKS


def test_a_poll_in_a_quiet_moment_is_answered_before_the_next_burst(run_pipeline):
    running = run_pipeline(pipeline(interval=1))
    due = next_burst(running)
    assert wait_for(lambda: transfers(running, "/api/overview") == [1] * LINKS)
    time.sleep(max(0.0, due + 0.3 - time.monotonic()))  # the next burst is 0.7 s away
    for path in ("/api/overview", "/metrics"):
        assert transfers(running, path) == [1] * LINKS  # not held until the burst at due + 1 s


def test_a_reader_waits_for_quiet_moments_at_most_max_wait(run_pipeline, monkeypatch):
    # Bursts every 10 ms, each lasting 5: never SETTLE (30 ms) without a transfer ending.
    monkeypatch.setattr(quiet, "SETTLE", 0.03)
    running = run_pipeline(pipeline(interval=0.01, seconds=0.005))
    assert wait_for(lambda: min(transfers(running, "/api/overview")) > 0)
    for path in ("/api/overview", "/metrics"):
        asked = time.monotonic()
        assert min(transfers(running, path)) > 0
        assert time.monotonic() - asked < MAX_WAIT + 5  # bounded (generously: a busy machine)


def test_the_overview_built_in_chunks_is_the_overview_built_at_once(run_pipeline, monkeypatch):
    running = run_pipeline(pipeline(interval=3600, immediate=True))
    assert wait_for(lambda: transfers(running, "/api/overview") == [1] * LINKS)
    overviews = []
    for chunk in (7, LINKS * 10):
        monkeypatch.setattr(dashboard_module, "CHUNK", chunk)
        overview = running.overview()
        del overview["now"]
        for link in overview["links"]:  # the wall clock's reading of a due time moves by microseconds
            link["next_due"] = round(link["next_due"], 2)
            del link["next_due_at"]
        overviews.append(overview)
    assert overviews[0] == overviews[1] and len(overviews[0]["links"]) == LINKS


def test_metrics_kept_from_the_last_scrape_are_what_would_be_written_now(run_pipeline):
    running = run_pipeline(pipeline(interval=3600, immediate=True))
    assert wait_for(lambda: transfers(running, "/metrics") == [1] * LINKS)
    collector = running.service._server.collector
    first = running.client.get("/metrics").text
    assert first == generate_latest(collector).decode()
    running.pipeline.links[2].transfer()  # by hand: only link 2's counts change
    second = running.client.get("/metrics").text
    assert second == generate_latest(collector).decode()
    assert transfers(running, "/metrics") == [1, 1, 2] + [1] * (LINKS - 3)
    assert metric_samples(second)[("databay_records_in_total", (("link", "l2"),))] == 2


def test_a_burst_is_links_due_together():
    apart = [0.01 * index for index in range(3 * BURST)]  # due at times of their own
    assert _first_burst(apart, 0, len(apart)) is None
    together = [5.0 + TOGETHER * index / BURST for index in range(BURST)]
    dues = sorted(apart + together)
    assert _first_burst(dues, 0, len(dues)) == together[-1]
    assert _first_burst(dues, 0, dues.index(together[-1])) is None  # one link short
