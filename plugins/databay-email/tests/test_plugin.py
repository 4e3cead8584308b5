"""The plugin: the `email` notifier is registered lazily and found by name."""

from __future__ import annotations

import sys

from databay.plugins import PluginManager


def test_the_email_notifier_is_registered_without_importing_it(monkeypatch):
    monkeypatch.delitem(sys.modules, "databay_email.notifier", raising=False)
    manager = PluginManager(load_only={"databay-email"}).load()
    component = manager.find("notifier", "email")
    assert (component.distribution, component.import_path) == ("databay-email", "databay_email.notifier:EmailNotifier")
    assert "databay_email.notifier" not in sys.modules
    from databay_email import EmailNotifier

    assert component.load() is EmailNotifier
    assert manager.find("notifier", "EmailNotifier") is component


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
