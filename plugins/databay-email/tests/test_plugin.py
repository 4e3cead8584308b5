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
