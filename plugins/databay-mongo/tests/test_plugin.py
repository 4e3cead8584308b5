"""Registration through the databay entry point, lazily."""

from __future__ import annotations

import json
import subprocess
import sys

import databay_mongo


def run(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_listing_components_does_not_import_pymongo() -> None:
    found = run(
        "import json, sys\n"
        "from databay.plugins import get_plugin_manager\n"
        "m = get_plugin_manager()\n"
        "names = {k: [c.import_path for c in m.components(k) if c.distribution == 'databay-mongo'] "
        "for k in ('inlet', 'outlet')}\n"
        "loaded = sorted(n for n in sys.modules if n.split('.')[0] in ('pymongo', 'bson') "
        "or n in ('databay_mongo.outlet', 'databay_mongo.inlet'))\n"
        "print(json.dumps({'names': names, 'loaded': loaded}))\n"
    )
    assert found["names"] == {"inlet": ["databay_mongo.inlet:MongoInlet"],
                              "outlet": ["databay_mongo.outlet:MongoOutlet"]}
    assert found["loaded"] == []


def test_found_by_name_and_by_class_name() -> None:
    from databay.plugins import get_plugin_manager
    from databay_mongo.inlet import MongoInlet
    from databay_mongo.outlet import MongoOutlet

    manager = get_plugin_manager()
    assert manager.find("outlet", "mongo").load() is MongoOutlet
    assert manager.find("inlet", "mongo").load() is MongoInlet


def test_compatible_imports() -> None:
    from databay.inlets import MongoInlet
    from databay.outlets import MongoOutlet

    assert MongoOutlet.__module__ == "databay_mongo.outlet"
    assert MongoInlet.__module__ == "databay_mongo.inlet"
    assert databay_mongo.MongoOutlet is MongoOutlet
