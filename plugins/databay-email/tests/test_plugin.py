"""The installed distribution: the `email` notifier is registered lazily and found by name."""

from __future__ import annotations

import sys

from databay.testing import PluginTester


class TestPlugin(PluginTester):
    distribution = "databay-email"
    components = {"notifier": {"email": "databay_email.notifier:EmailNotifier"}}
    watch = ["databay_email.notifier", "smtplib"]


def test_databay_plugins_lists_and_checks_it():
    import subprocess
    from pathlib import Path

    databay = str(Path(sys.executable).parent / "databay")
    listing = subprocess.run([databay, "plugins"], capture_output=True, text=True, env={"COLUMNS": "120"})
    assert "notifiers: email" in listing.stdout
    check = subprocess.run([databay, "plugins", "--check"], capture_output=True, text=True, env={"COLUMNS": "200"})
    assert check.returncode == 0, check.stdout
    # printed as written, not as the :email: emoji
    assert "notifier  databay-email:email: databay_email.notifier:EmailNotifier" in check.stdout
