"""The conformance kit for a plugin distribution as a whole, installed: what it registers, how.

Subclass :class:`PluginTester` in your plugin's tests and say what the distribution
registers; pytest runs one test per rule (the distribution must be installed, e.g. with
``pip install -e .``)::

    from databay.testing import PluginTester

    class TestPlugin(PluginTester):
        distribution = "databay-kafka"
        components = {"outlet": {"kafka": "databay_kafka.outlet:KafkaOutlet"}}
        watch = ["kafka", "databay_kafka.outlet"]   # what listing plugins must not import
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any, ClassVar

from databay.testing.listing import plugin_listing


class PluginTester:
    """One test per rule a plugin distribution keeps, run against the installed distribution.

    - listing plugins finds exactly :attr:`components`, the plugin is not broken, and
      listing imports none of the :attr:`watch` modules (targets are lazy strings);
    - each component resolves by its name, its class name and ``distribution:name`` to the
      class its target names;
    - ``databay.inlets``, ``databay.outlets`` and ``databay.planners`` find the classes of
      those kinds by class name;
    - ``databay plugins --check`` passes for the distribution (each component is what its
      kind needs, with a readable constructor and a name no one else uses; command hooks run).
    """

    distribution: ClassVar[str]
    """The distribution's name, e.g. ``databay-kafka``."""
    components: ClassVar[dict[str, dict[str, str]]]
    """What it registers: ``{kind: {name: "package.module:Class"}}``."""
    watch: ClassVar[list[str]] = []
    """Modules listing must not import: your client library, your component modules."""

    def test_listing_finds_the_components_without_importing_them(self) -> None:
        listing = plugin_listing(self.distribution, self.watch)
        assert listing.error is None, f"{self.distribution} is broken: {listing.error}"
        assert listing.components == self.components
        assert listing.imported == [], f"listing the plugins imported {', '.join(listing.imported)}"

    def test_each_component_resolves_by_name_class_name_and_qualified_name(
            self, databay_load_plugins: Callable[..., Any]) -> None:
        manager = databay_load_plugins(self.distribution)
        for kind, name, target in self._each():
            expected = _imported(target)
            for alias in (name, target.rpartition(".")[2].rpartition(":")[2], f"{self.distribution}:{name}"):
                assert manager.resolve(kind, alias) is expected, f"{kind} {alias!r} resolves to something else"

    def test_databay_namespaces_find_the_classes(self, databay_load_plugins: Callable[..., Any]) -> None:
        databay_load_plugins(self.distribution)
        for kind, _, target in self._each():
            if kind in ("inlet", "outlet", "planner"):
                expected = _imported(target)
                namespace = importlib.import_module(f"databay.{kind}s")
                assert getattr(namespace, expected.__name__) is expected

    def test_databay_plugins_check_passes(self, databay_load_plugins: Callable[..., Any]) -> None:
        databay_load_plugins(self.distribution)  # the command below sees the same selection
        result = subprocess.run([sys.executable, "-m", "databay", "plugins", "--check", "--json"],
                                capture_output=True, text=True, env=dict(os.environ), timeout=120)
        verdicts = [v for v in json.loads(result.stdout) if v["distribution"] == self.distribution]
        failed = [f"{v['subject']}: {v['detail']}" for v in verdicts if not v["ok"]]
        assert not failed, "databay plugins --check failed:\n" + "\n".join(failed)
        checked = {v["subject"] for v in verdicts if v["kind"] in self.components}
        assert checked == {f"{self.distribution}:{name}" for _, name, _ in self._each()}

    def _each(self) -> list[tuple[str, str, str]]:
        return [(kind, name, target) for kind, by_name in self.components.items() for name, target in by_name.items()]


def _imported(target: str) -> Any:
    module, _, attr = target.partition(":")
    value: Any = importlib.import_module(module)
    for part in attr.split("."):
        value = getattr(value, part)
    return value
