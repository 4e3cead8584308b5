"""What listing an installed plugin registers and imports, seen from a fresh interpreter.

Listing plugins (``databay plugins``, and every start of a pipeline) must not import their
client libraries: that is what lazy ``"module:Attr"`` targets are for. Only a fresh
interpreter can tell, since a test process has imported everything already::

    from databay.testing import plugin_listing

    def test_listing_does_not_import_the_kafka_client():
        listing = plugin_listing("databay-kafka", watch=["kafka", "databay_kafka.outlet"])
        assert listing.components == {"outlet": {"kafka": "databay_kafka.outlet:KafkaOutlet"}}
        assert listing.imported == []
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass

_LISTING = """\
import json, sys
distribution, watch = sys.argv[1], json.loads(sys.argv[2])
from databay.plugins import get_plugin_manager, normalize
info = get_plugin_manager().plugins.get(normalize(distribution))
imported = sorted(m for m in sys.modules if any(m == w or m.startswith(w + ".") for w in watch))
print(json.dumps({"plugin": info.as_dict() if info else None, "imported": imported}))
"""


@dataclass(frozen=True)
class PluginListing:
    """What a fresh interpreter listing the plugins saw of one distribution.

    :param version: the distribution's version.
    :param components: ``{kind: {name: target}}``, the kinds it registers only; targets
        as registered (``"package.module:Class"``).
    :param imported: the watched modules the listing imported (empty: as it should be).
    :param error: why the plugin is broken, or ``None``.
    """

    version: str
    components: dict[str, dict[str, str]]
    imported: list[str]
    error: str | None


def plugin_listing(distribution: str, watch: Iterable[str] = (), timeout: float = 60) -> PluginListing:
    """List the installed plugins in a fresh interpreter, loading only ``distribution``.

    :param distribution: the plugin distribution (``databay-kafka``), installed in this
        environment (``pip install -e .`` for the one you develop).
    :param watch: modules that listing must not import, e.g. your client library and your
        component modules; a package stands for its submodules too.
    :raises LookupError: ``distribution`` is not installed (or has no ``databay`` entry point).
    :raises RuntimeError: the interpreter failed (its error output says why).
    """
    env = dict(os.environ, DATABAY_LOAD_PLUGINS=distribution)
    env.pop("DATABAY_STRICT_PLUGINS", None)  # a broken plugin is reported, not raised
    result = subprocess.run([sys.executable, "-c", _LISTING, distribution, json.dumps(list(watch))],
                            capture_output=True, text=True, env=env, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"listing the plugins failed (exit {result.returncode}):\n{result.stderr}")
    found = json.loads(result.stdout.strip().splitlines()[-1])
    plugin = found["plugin"]
    if plugin is None:
        raise LookupError(f"{distribution} is not installed here (no 'databay' entry point of that name)")
    from databay.plugins import KINDS

    components = {kind: {c["name"]: c["target"] for c in plugin[f"{kind}s"]} for kind in KINDS if plugin[f"{kind}s"]}
    return PluginListing(plugin["version"], components, found["imported"], plugin["error"])
