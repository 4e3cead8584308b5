"""The queue of a running pipeline over HTTP: dead letters purged (through the page's form
and through the API), delivered batches kept for ``stage_retention``, pages of batches,
and the stage gauges of ``/metrics`` once a stage holds nothing."""

from __future__ import annotations

import re
from html import unescape

import pytest
from databay.stage import SqliteStage
from prometheus_client.parser import text_string_to_metric_families
from web_helpers import TOKEN, Client, wait_for

PIPELINE = """
[planner]
ignore_exceptions = true

[[links]]
tags = ["kept"]
interval = "50ms"
stage = "kept.stage"
stage_retention = "1h"
inlets = [{{ use = "web_components:Counter", count = 2 }}]
outlets = [{{ use = "null" }}]

[[links]]
tags = ["orders"]
interval = "50ms"
stage = "orders.stage"
retry = {{ attempts = 1 }}
inlets = [{{ use = "web_components:Counter" }}]
outlets = [{{ use = "web_components:Flaky", fail_first = 1 }}, {{ use = "web_components:Flaky", fail_first = 1 }}]

[web]
listen = "127.0.0.1:0"
users_file = "{users}"
token = "{token}"
"""


@pytest.fixture
def running(run_pipeline, users_file):
    return run_pipeline(PIPELINE.format(users=users_file, token=TOKEN))


def _dead_letters(outlet: str) -> list:
    """The dead letters of the orders link's stage for ``outlet``, read on a stage of our own."""
    with SqliteStage("orders.stage") as stage:
        return stage.dead_letters(outlet)


def _stage_gauges(client: Client, link: str) -> dict[tuple[str, str, str], float]:
    """``{(metric, outlet, state): value}`` of the stage gauges of ``link``."""
    text = client.get("/metrics").text
    return {(sample.name, sample.labels["outlet"], sample.labels["state"]): sample.value
            for family in text_string_to_metric_families(text) if family.name.startswith("databay_stage_")
            for sample in family.samples if sample.labels["link"] == link}


def test_dead_letters_are_purged_through_the_page_and_through_the_api(running):
    # The first push of each of the two outlets (Flaky, Flaky#2) fails: batch 0 is dead for both.
    assert wait_for(lambda: (running.overview()["links"][1]["stage"] or {}).get("dead_batches") == 2)
    assert wait_for(lambda: running.overview()["links"][1]["stage"]["pending_batches"] == 0)
    page = running.client.get("/queue/1?state=dead").text
    batch = re.search(r'href="(/queue/1/batches/\d+)"', page).group(1)
    assert [letter.batch_id for letter in _dead_letters("Flaky")] == [letter.batch_id for letter in
                                                                        _dead_letters("Flaky#2")]

    # The page's form: a login and its CSRF token; one outlet's dead letters.
    client = Client(running.client.url)
    refused = client.post("/queue/1/purge", {"csrf": "", "outlet": "Flaky"})
    assert refused.status == 303 and refused.headers["Location"].startswith("/login")
    client.login()
    assert client.post("/queue/1/purge", {"outlet": "Flaky"}).status == 403  # no CSRF token
    assert _dead_letters("Flaky")
    purged = client.post("/queue/1/purge", {"csrf": client.csrf("/queue/1?state=dead"), "outlet": "Flaky"})
    assert purged.status == 303 and purged.headers["Location"] == "/queue/1?state=dead"
    assert "orders: 1 dead-lettered batch(es) deleted" in client.get(purged.headers["Location"]).text
    assert _dead_letters("Flaky") == [] and len(_dead_letters("Flaky#2")) == 1
    assert client.get(batch).status == 200  # still owed to Flaky#2

    # The API: the bearer token, no CSRF token; the other outlet's.
    assert Client(running.client.url).post("/api/queue/1/purge").status == 401
    answer = client.post("/api/queue/1/purge", {"outlet": "Flaky#2"}, Authorization=f"Bearer {TOKEN}")
    assert answer.status == 200 and answer.json() == {"ok": True, "message": "orders: 1 dead-lettered batch(es) deleted"}
    assert _dead_letters("Flaky#2") == []
    assert running.client.get(batch).status == 404  # gone from the stage
    listed = running.client.get("/api/queue/1?state=dead").json()
    assert listed["total"] == 0 and listed["batches"] == []
    assert running.overview()["links"][1]["stage"]["dead_batches"] == 0

    # The stage holds nothing now: its gauges read 0, for both outlets and both states (once
    # no transfer is in flight: the link still runs every 50 ms, each batch pending a moment).
    empty = {(metric, outlet, state): 0.0 for metric in ("databay_stage_batches", "databay_stage_records")
             for outlet in ("Flaky", "Flaky#2") for state in ("pending", "dead")}
    assert wait_for(lambda: _stage_gauges(running.client, "orders") == empty), _stage_gauges(running.client, "orders")


def test_delivered_batches_kept_for_stage_retention_are_listed_and_shown(running):
    assert wait_for(lambda: running.client.get("/api/queue/0?state=delivered").json()["total"] >= 3)
    listed = running.client.get("/api/queue/0?state=delivered").json()
    assert {row["state"] for row in listed["batches"]} == {"delivered"}
    assert all(row["outlet"] is None and row["records"] == 2 and row["at"] for row in listed["batches"])
    assert listed["backlog"]["pending_batches"] == 0  # delivered: not a backlog
    first = listed["batches"][0]
    shown = running.client.get(f"/api/queue/0/batches/{first['batch']}").json()
    assert list(shown["batch"]["states"]) == ["delivered"] and shown["batch"]["state"] == "delivered"
    assert [row["payload"] for row in shown["records"]] == [{"n": 0}, {"n": 1}]

    page = running.client.get("/queue/0?state=delivered").text
    assert 'aria-current="page">delivered<' in page
    assert len(re.findall(r'<tr class="state-delivered">', page)) >= 3
    assert first["batch_id"] in page
    assert unescape('{&#34;n&#34;: 0}') in unescape(running.client.get(f"/queue/0/batches/{first['batch']}").text)
    assert "delivered" in running.client.get("/queue/0").text  # the "all" view has them too


def test_the_queue_has_pages(running):
    assert wait_for(lambda: running.client.get("/api/queue/0?state=delivered").json()["total"] >= 5)
    running.client.api("POST", "/api/links/0/pause")  # the batches stay as they are while paging
    total = running.client.get("/api/queue/0?state=delivered").json()["total"]
    per_page = 2
    pages = -(-total // per_page)
    seen = []
    path = f"/queue/0?state=delivered&per_page={per_page}"
    for number in range(1, pages + 1):
        page = running.client.get(path).text
        assert f"page {number} of {pages}." in page
        rows = re.findall(r'<tr class="state-delivered"><td><a href="/queue/0/batches/(\d+)"', page)
        assert len(rows) == (per_page if number < pages else total - per_page * (pages - 1))
        seen += rows
        assert ('rel="prev"' in page) == (number > 1)
        following = re.search(r'<a href="([^"]+)" rel="next">', page)
        if number < pages:
            path = "/queue/0" + unescape(following.group(1))
        else:
            assert following is None  # the last page
    assert len(seen) == len(set(seen)) == total  # every batch once

    api = running.client.get(f"/api/queue/0?state=delivered&per_page={per_page}&page={pages}").json()
    assert api["page"] == api["pages"] == pages and api["total"] == total
    assert [str(row["batch"]) for row in api["batches"]] == seen[per_page * (pages - 1):]
    second = running.client.get(f"/api/queue/0?state=delivered&per_page={per_page}&page=2").json()
    assert [str(row["batch"]) for row in second["batches"]] == seen[per_page:2 * per_page]
    beyond = running.client.get(f"/api/queue/0?state=delivered&per_page={per_page}&page={pages + 1}").json()
    assert beyond["batches"] == [] and beyond["total"] == total
