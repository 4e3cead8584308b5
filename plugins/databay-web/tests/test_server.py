"""The dashboard against a pipeline running in this process: pages, the JSON API, metrics,
health checks, logins, CSRF, actions, exports, secrets and bounds, over HTTP."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import time
from urllib.parse import unquote

import pytest
from prometheus_client.parser import text_string_to_metric_families
from web_helpers import PASSWORD, TOKEN, Client, metric_samples, wait_for

WEB = """
[web]
listen = "127.0.0.1:0"
users_file = "{users}"
token = "{token}"
unready_after = {unready_after}
"""
PLANNER = """
[planner]
ignore_exceptions = true
"""
LINKS = PLANNER + """
[[links]]
tags = ["numbers"]
interval = "50ms"
inlets = [{ use = "web_components:Counter", count = 2, secret = "${WEB_TEST_SECRET}" }]
outlets = [{ use = "null" }]

[[links]]
tags = ["orders"]
interval = "50ms"
stage = "orders.stage"
retry = { attempts = 1 }
inlets = [{ use = "web_components:Counter" }]
outlets = [{ use = "web_components:Flaky", fail_first = 1 }]
"""
BROKEN = PLANNER + """
[[links]]
tags = ["broken"]
interval = "50ms"
inlets = [{ use = "web_components:Broken" }]
outlets = [{ use = "null" }]
"""


@pytest.fixture
def running(run_pipeline, users_file, monkeypatch):
    monkeypatch.setenv("WEB_TEST_SECRET", "hunter2-very-secret")
    return run_pipeline(LINKS + WEB.format(users=users_file, token=TOKEN, unready_after=300))


def test_pages_show_the_state_at_load_time_without_scripts(running):
    assert wait_for(lambda: running.overview()["links"][0]["transfers"] >= 3)
    page = running.client.get("/")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    row = re.search(r'<tr data-link="0".*?</tr>', page.text, re.S).group(0)
    assert ">numbers</a>" in row and "interval 50ms" in row
    transfers = int(re.search(r'data-field="transfers">([\d,]+)<', row).group(1).replace(",", ""))
    assert transfers >= 3
    for path in ("/links/0", "/links/1", "/queue", "/queue/1", "/queue/1?state=dead", "/log", "/login"):
        assert running.client.get(path).status == 200, path
    assert running.client.get("/links/7").status == 404
    assert running.client.get("/queue/0").status == 404  # no stage
    assert running.client.get("/queue/1?per_page=9999").status == 400


def test_the_api_counts_go_up_and_describe_every_link(running):
    first = running.overview()
    assert wait_for(lambda: running.overview()["links"][0]["transfers"] > first["links"][0]["transfers"] + 2)
    link = running.overview()["links"][0]
    assert link["name"] == "numbers" and link["schedule"] == "interval 50ms"
    assert link["records_in"] == 2 * link["transfers"]
    assert link["last"]["outcome"] == "ok" and link["last"]["records_in"] == 2
    assert link["next_due"] is not None and abs(link["next_due"] - time.time()) < 5
    assert link["state"] == "idle" and link["paused"] is False
    details = running.client.get("/api/links/0").json()
    assert details["recent"] and details["inlets"][0]["use"] == "web_components:Counter"


def test_secrets_show_as_their_variable(running):
    for path in ("/links/0", "/api/links/0", "/api/overview"):
        text = running.client.get(path).text
        assert "hunter2-very-secret" not in text, path
    assert "${WEB_TEST_SECRET}" in running.client.get("/api/links/0").text
    assert "${WEB_TEST_SECRET}" in running.client.get("/links/0").text


def test_dead_letters_are_shown_replayed_and_purged_with_a_login_and_csrf(running):
    assert wait_for(lambda: (running.overview()["links"][1]["stage"] or {}).get("dead_batches") == 1)
    queue = running.client.get("/queue/1?state=dead")
    assert "push 1 refused" in queue.text and "Replay 1 dead letter(s)" in queue.text
    batch = re.search(r'href="(/queue/1/batches/\d+)"', queue.text).group(1)
    assert '{&#34;n&#34;: 0}' in running.client.get(batch).text  # its record, escaped

    anonymous = Client(running.client.url)
    refused = anonymous.post("/queue/1/replay", {"csrf": ""})
    assert refused.status == 303 and refused.headers["Location"].startswith("/login")

    client = running.client
    assert client.login(password="wrong").status == 401
    logged_in = client.login()
    assert logged_in.status == 303 and "databay_session" in client.cookies
    cookie = next(h for h in logged_in.headers.get_all("Set-Cookie") if h.startswith("databay_session"))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert client.post("/queue/1/replay", {"csrf": "forged"}).status == 403
    assert client.post("/queue/1/replay", {}).status == 403
    assert client.post("/queue/1/replay", {"csrf": client.csrf()}, Origin="http://evil.example").status == 403
    replayed = client.post("/queue/1/replay", {"csrf": client.csrf()})
    assert replayed.status == 303
    assert "1 dead-lettered batch(es) pending again" in client.get(replayed.headers["Location"]).text
    assert wait_for(lambda: running.overview()["links"][1]["stage"]["dead_batches"] == 0)
    assert wait_for(lambda: running.overview()["links"][1]["stage"]["pending_batches"] == 0)  # delivered now


def test_actions_over_the_api_take_the_bearer_token(running):
    client = Client(running.client.url)
    assert client.request("POST", "/api/links/0/pause").status == 401
    assert client.request("POST", "/api/links/0/pause", headers={"Authorization": "Bearer wrong"}).status == 401
    paused = client.api("POST", "/api/links/0/pause")
    assert paused.status == 200 and paused.json() == {"ok": True, "message": "numbers: paused"}
    assert running.overview()["links"][0]["state"] == "paused"
    time.sleep(0.15)
    count = running.overview()["links"][0]["transfers"]
    time.sleep(0.3)
    assert running.overview()["links"][0]["transfers"] == count
    now = client.api("POST", "/api/links/0/transfer")
    assert now.status == 200 and "numbers: transferred, 2 in, 2 out" == now.json()["message"]
    assert running.overview()["links"][0]["transfers"] == count + 1
    assert client.api("POST", "/api/links/0/resume").status == 200
    assert wait_for(lambda: running.overview()["links"][0]["transfers"] > count + 3)
    assert client.api("POST", "/api/queue/0/replay").status == 409  # no stage
    assert client.api("GET", "/links/0/pause").status == 405  # nothing changes over GET


def test_metrics_parse_and_count_transfers(running):
    assert wait_for(lambda: running.overview()["links"][0]["transfers"] >= 5)
    assert wait_for(lambda: running.overview()["links"][1]["stage"]["dead_batches"] == 1)
    response = running.client.get("/metrics")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    samples = metric_samples(response.text)
    assert samples[("databay_transfers_total", (("link", "numbers"), ("outcome", "ok")))] >= 5
    assert samples[("databay_records_in_total", (("link", "numbers"),))] >= 10
    assert samples[("databay_batches_dead_lettered_total", (("link", "orders"),))] == 1
    assert samples[("databay_stage_batches", (("link", "orders"), ("outlet", "Flaky"), ("state", "dead")))] == 1
    assert families["databay_transfer_duration_seconds"].type == "histogram"
    assert samples[("databay_transfer_duration_seconds_count", ())] >= 5
    assert samples[("databay_transfer_lateness_seconds_count", ())] >= 3
    assert samples[("databay_transfer_lateness_seconds_bucket", (("le", "+Inf"),))] >= 3
    assert samples[("databay_planner_running", ())] == 1
    assert ("databay_link_paused", (("link", "numbers"),)) in samples


def test_health_and_readiness(run_pipeline, users_file):
    running = run_pipeline(BROKEN + WEB.format(users=users_file, token=TOKEN, unready_after=0.3))
    assert running.client.get("/healthz").text == "ok\n"
    assert wait_for(lambda: running.client.get("/readyz").status == 503)
    assert "link broken has failed for" in running.client.get("/readyz").text
    assert "RuntimeError: the source is down" in running.client.get("/links/0").text
    assert "Traceback (most recent call last)" not in running.client.get("/links/0").text  # only with debug


def test_tracebacks_with_debug(run_pipeline, users_file):
    running = run_pipeline(BROKEN + WEB.format(users=users_file, token=TOKEN, unready_after=300) + "debug = true\n")
    assert wait_for(lambda: running.overview()["links"][0]["failures"] >= 1)
    page = running.client.get("/links/0").text
    assert "Traceback (most recent call last)" in page and "raise RuntimeError(&#34;the source is down&#34;)" in page


def test_a_debug_flag_of_the_program_running_the_pipeline_shows_no_tracebacks(run_pipeline, users_file,
                                                                              monkeypatch):
    monkeypatch.setattr(sys, "argv", ["pytest", "--debug", "tests"])  # pytest's own --debug
    running = run_pipeline(BROKEN + WEB.format(users=users_file, token=TOKEN, unready_after=300))
    assert wait_for(lambda: running.overview()["links"][0]["failures"] >= 1)
    assert "Traceback (most recent call last)" not in running.client.get("/links/0").text


def test_ready_while_the_planner_runs(running):
    assert running.client.get("/readyz").status == 200
    running.pipeline.planner.shutdown()
    running.thread.join(15)


def test_exports_are_what_databay_stage_exports(running):
    client = Client(running.client.url)
    client.login()
    assert wait_for(lambda: running.overview()["links"][1]["stage"]["dead_batches"] == 1)
    jsonl = client.get("/queue/1/export?format=jsonl&state=dead")
    assert jsonl.status == 200 and 'filename="orders.jsonl"' in jsonl.headers["Content-Disposition"]
    rows = [json.loads(line) for line in jsonl.text.splitlines()]
    assert [row["payload"] for row in rows] == [{"n": 0}] and rows[0]["state"] == "dead"
    assert set(rows[0]) == {"link", "stage", "batch_id", "record_id", "state", "outlets", "created", "error",
                            "payload", "metadata"}
    table = list(csv.reader(io.StringIO(client.get("/queue/1/export?format=csv&state=dead").text)))
    assert table[0][:3] == ["link", "stage", "batch_id"] and json.loads(table[1][8]) == {"n": 0}
    assert client.get("/queue/1/export?format=xml").status == 400
    assert client.get("/queue-export?format=csv").status == 200


def test_the_log_is_kept_filtered_and_escaped(run_pipeline, users_file, monkeypatch):
    monkeypatch.setenv("WEB_TEST_SECRET", "hunter2-very-secret")
    running = run_pipeline(BROKEN + LINKS.replace(PLANNER, "")
                           .replace('tags = ["numbers"]', 'tags = ["<b>numbers</b>"]')
                           + WEB.format(users=users_file, token=TOKEN, unready_after=300))
    assert wait_for(lambda: running.client.get("/api/log?level=ERROR").json()["entries"])
    entries = running.client.get("/api/log?level=ERROR&link=0").json()["entries"]
    assert entries and all(entry["link"] == 0 and entry["levelno"] >= 40 for entry in entries)
    assert "the source is down" in entries[0]["message"]
    page = running.client.get("/log?link=0&level=ERROR")
    assert "the source is down" in page.text
    overview = running.client.get("/").text
    assert "&lt;b&gt;numbers&lt;/b&gt;" in overview and "<b>numbers</b>" not in overview
    assert running.client.get("/api/log?link=99").status == 400


def test_security_headers_and_bounds(running):
    page = running.client.get("/")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    huge = running.client.post("/login", {"csrf": "x", "user": "a", "password": "p" * 100_000})
    assert huge.status == 413


def test_viewing_may_need_a_login(run_pipeline, users_file):
    running = run_pipeline(LINKS.replace("${WEB_TEST_SECRET}", "x")
                           + WEB.format(users=users_file, token=TOKEN, unready_after=300)
                           + "login_required = true\n")
    client = Client(running.client.url)
    redirected = client.get("/links/0")
    assert redirected.status == 303 and unquote(redirected.headers["Location"]) == "/login?next=/links/0"
    assert client.get("/api/overview").status == 401 and client.get("/metrics").status == 401
    assert client.get("/healthz").status == 200 and client.get("/readyz").text == "ready\n"
    assert client.api("GET", "/api/overview").status == 200
    client.login()
    assert client.get("/links/0").status == 200 and client.get("/metrics").status == 200
    client.post("/logout", {"csrf": client.csrf()})
    assert client.get("/").status == 303


def test_too_many_failed_logins_are_throttled(running):
    client = Client(running.client.url)
    statuses = [client.login(password="nope").status for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    assert client.login(password=PASSWORD).status == 429  # until the window passes
