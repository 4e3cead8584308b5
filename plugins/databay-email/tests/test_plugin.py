"""The plugin: the `email` notifier is registered lazily and found by name."""

from __future__ import annotations

import sys

from databay.testing import plugin_listing


def test_the_email_notifier_is_registered_without_importing_it(databay_load_plugins):
    listing = plugin_listing("databay-email", watch=["databay_email.notifier", "smtplib"])
    assert listing.components == {"notifier": {"email": "databay_email.notifier:EmailNotifier"}}
    assert listing.imported == []
    from databay_email import EmailNotifier

    manager = databay_load_plugins("databay-email")
    assert manager.resolve("notifier", "email") is EmailNotifier
    assert manager.find("notifier", "EmailNotifier") is manager.find("notifier", "email")


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
