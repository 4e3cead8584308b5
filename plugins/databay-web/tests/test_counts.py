"""The counts of a running pipeline that only some transfers make: pulls and pushes retried
(then successful), due times skipped while a slow transfer still ran, records pushed, and
batches pending in a stage, on the overview, in the API and in ``/metrics``."""

from __future__ import annotations

import re

from web_helpers import metric_samples, wait_for

PIPELINE = """
[planner]
ignore_exceptions = true

[[links]]
tags = ["retried"]
interval = "100ms"
retry = { attempts = 3, initial_delay = 0.01, jitter = 0 }
inlets = [{ use = "web_components:Counter", fail_first = 1 }]
outlets = [{ use = "web_components:Flaky", fail_first = 2 }]

[[links]]
tags = ["slow"]
interval = "100ms"
inlets = [{ use = "web_components:Counter", seconds = 0.35 }]
outlets = [{ use = "null" }]

[[links]]
tags = ["filled"]
interval = "100ms"
stage = "filled.stage"
stage_role = "fill"
stage_outlets = ["Warehouse"]
inlets = [{ use = "web_components:Counter", count = 3 }]

[web]
listen = "127.0.0.1:0"
"""


def _cell(page: str, link: int, field: str) -> int:
    row = re.search(rf'<tr data-link="{link}".*?</tr>', page, re.S).group(0)
    return int(re.search(rf'data-field="{re.escape(field)}">(?:<a [^>]*>)?([\d,]+)<', row).group(1).replace(",", ""))


def test_retries_skipped_due_times_records_out_and_pending_batches(run_pipeline):
    running = run_pipeline(PIPELINE)
    assert wait_for(lambda: running.overview()["links"][1]["skipped"] >= 2)
    assert wait_for(lambda: running.overview()["links"][2]["stage"]["pending_batches"] >= 2)
    overview = running.overview()
    retried, slow, filled = overview["links"]

    # The first transfer's pull failed once and its push twice: retried 3 times, then done.
    assert retried["retries"] == 3 and retried["failures"] == 0 and retried["transfers"] >= 1
    assert retried["records_out"] == retried["records_in"] == retried["transfers"]
    assert retried["last"]["outcome"] == "ok"
    # A pull takes 0.35 s on a 0.1 s interval: the due times in between are skipped.
    assert slow["skipped"] >= 2 and slow["retries"] == 0 and slow["records_out"] == slow["transfers"]
    assert overview["totals"]["retries"] == 3 and overview["totals"]["skipped"] >= slow["skipped"]
    # A fill link's batches stay pending for the outlet that drains them (no link does here).
    stage = filled["stage"]
    assert stage["pending_records"] == 3 * stage["pending_batches"] and stage["dead_batches"] == 0
    assert [row["outlet"] for row in stage["outlets"]] == ["Warehouse"]

    page = running.client.get("/").text
    assert _cell(page, 0, "retries") == 3
    assert _cell(page, 1, "skipped") >= slow["skipped"]
    assert _cell(page, 2, "stage.pending_batches") >= 2
    details = running.client.get("/api/links/1").json()
    assert details["skipped"] >= slow["skipped"]

    samples = metric_samples(running.client.get("/metrics").text)
    assert samples[("databay_transfer_retries_total", (("link", "retried"),))] == 3
    assert samples[("databay_transfer_retries_total", (("link", "slow"),))] == 0
    assert samples[("databay_transfers_skipped_total", (("link", "slow"),))] >= slow["skipped"]
    assert samples[("databay_transfers_skipped_total", (("link", "retried"),))] == retried["skipped"]
    assert samples[("databay_records_out_total", (("link", "retried"),))] >= retried["records_out"]
    assert samples[("databay_records_out_total", (("link", "slow"),))] >= slow["records_out"] >= 1
    assert samples[("databay_transfers_total", (("link", "retried"), ("outcome", "failed")))] == 0
    pending = samples[("databay_stage_batches", (("link", "filled"), ("outlet", "Warehouse"), ("state", "pending")))]
    assert pending >= 2
    assert samples[("databay_stage_records", (("link", "filled"), ("outlet", "Warehouse"), ("state", "pending")))] \
        == 3 * pending
    assert samples[("databay_stage_batches", (("link", "filled"), ("outlet", "Warehouse"), ("state", "dead")))] == 0
