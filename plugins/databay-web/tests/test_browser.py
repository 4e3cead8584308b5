"""A real browser: headless Chromium (Debian's package) driven by Playwright opens the
dashboard while a pipeline runs, sees a link's counts go up without reloading, logs in, and
replays a dead letter, and sees a new record appear on the log page.

Skips, saying why, where Chromium is not installed (``apt-get install chromium``; the nox
session installs it) or Playwright's package is missing. With ``DATABAY_WEB_SCREENSHOT=FILE``
it also saves a screenshot of the overview there (docs/web-dashboard.png was made so).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from web_helpers import PASSWORD, TOKEN, wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="needs Chromium: Debian's chromium package (apt-get install chromium)")

PIPELINE = """
[planner]
ignore_exceptions = true

[[links]]
tags = ["sensors"]
interval = "300ms"
inlets = [{{ use = "web_components:Counter", count = 25 }}]
outlets = [{{ use = "null" }}]

[[links]]
tags = ["orders"]
interval = "400ms"
stage = "orders.stage"
retry = {{ attempts = 1 }}
inlets = [{{ use = "web_components:Counter", count = 3 }}]
outlets = [{{ use = "web_components:Flaky", fail_first = 1 }}]

[[links]]
tags = ["invoices"]
interval = "1s"
inlets = [{{ use = "web_components:Broken" }}]
outlets = [{{ use = "null" }}]

[web]
listen = "127.0.0.1:0"
users_file = "{users}"
token = "{token}"
"""


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright's Python package (pip install "
                                                                 "playwright; its browsers are not needed)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def _transfers(page) -> int:
    return int(page.locator('tr[data-link="0"] td[data-field="transfers"]').inner_text().replace(",", ""))


def test_the_dashboard_in_a_browser(run_pipeline, users_file, browser):
    running = run_pipeline(PIPELINE.format(users=users_file, token=TOKEN))
    page = browser.new_page(viewport={"width": 1500, "height": 560})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(running.client.url)
    assert page.locator('tr[data-link="0"] a').first.inner_text() == "sensors"

    # The counts go up without reloading: the script polls /api/overview.
    first = _transfers(page)
    loads = page.evaluate("performance.getEntriesByType('navigation').length")
    page.wait_for_function(f"""() => Number(document.querySelector('tr[data-link="0"] td[data-field="transfers"]')
                                     .textContent.replace(/,/g, '')) > {first + 2}""", timeout=20_000)
    assert _transfers(page) > first + 2
    assert page.evaluate("performance.getEntriesByType('navigation').length") == loads  # same document
    assert running.overview()["links"][1]["stage"]["dead_batches"] == 1
    page.wait_for_function("""() => document.querySelector('tr[data-link="1"] td[data-field="stage.dead_batches"]')
                              .textContent.trim() === '1'""", timeout=20_000)
    screenshot = os.environ.get("DATABAY_WEB_SCREENSHOT")
    if screenshot:
        page.wait_for_timeout(2500)
        page.screenshot(path=screenshot, full_page=True)

    # Replaying needs a login: the form sends there first.
    page.goto(running.client.url + "queue/1?state=dead")
    assert "push 1 refused" in page.content()
    page.get_by_role("button", name="Replay 1 dead letter(s)").click()
    page.wait_for_url(lambda url: "/login?next=" in url)
    page.get_by_label("User").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: url.endswith("/queue/1?state=dead"))
    page.get_by_role("button", name="Replay 1 dead letter(s)").click()
    page.wait_for_url(lambda url: url.endswith("/queue/1?state=dead"))
    assert "1 dead-lettered batch(es) pending again" in page.locator(".flash").inner_text()
    assert wait_for(lambda: running.overview()["links"][1]["stage"]["dead_batches"] == 0)
    assert wait_for(lambda: running.overview()["links"][1]["stage"]["pending_batches"] == 0)  # delivered now

    # The log page adds the records logged since it loaded without reloading: the script
    # polls /api/log?after=... (invoices fails every second). A reload would drop the mark.
    page.goto(running.client.url + "log?link=2&level=ERROR")
    rows = page.locator("table.log tbody tr")
    before = rows.count()
    page.evaluate("window.databayTestMark = 'same document'")
    page.wait_for_function(f"() => document.querySelectorAll('table.log tbody tr').length > {before}", timeout=20_000)
    assert page.evaluate("window.databayTestMark") == "same document"
    added = rows.nth(rows.count() - 1).inner_text()
    assert "ERROR" in added and "invoices" in added and "the source is down" in added
    assert int(page.locator("table.log").get_attribute("data-after")) > 0
    assert not errors, errors
