"""Registration through the databay entry point, lazily."""

from __future__ import annotations

import json
import subprocess
import sys

import databay_http


def run(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_listing_components_does_not_import_aiohttp() -> None:
    found = run(
        "import json, sys\n"
        "from databay.plugins import get_plugin_manager\n"
        "m = get_plugin_manager()\n"
        "names = {k: [c.import_path for c in m.components(k) if c.distribution == 'databay-http'] "
        "for k in ('inlet', 'outlet')}\n"
        "import databay_http, databay_http.errors\n"
        "loaded = sorted(n for n in sys.modules if n.split('.')[0] in ('aiohttp', 'yarl', 'multidict') "
        "or n in ('databay_http.inlet', 'databay_http.outlet', 'databay_http.client'))\n"
        "print(json.dumps({'names': names, 'loaded': loaded}))\n"
    )
    assert found["names"] == {"inlet": ["databay_http.inlet:HttpInlet"],
                              "outlet": ["databay_http.outlet:HttpOutlet"]}
    assert found["loaded"] == []


def test_found_by_name_and_by_class_name() -> None:
    from databay.plugins import get_plugin_manager
    from databay_http.inlet import HttpInlet
    from databay_http.outlet import HttpOutlet

    manager = get_plugin_manager()
    assert manager.find("inlet", "http").load() is HttpInlet
    assert manager.find("outlet", "http").load() is HttpOutlet


def test_compatible_imports() -> None:
    from databay.inlets import HttpInlet
    from databay.outlets import HttpOutlet

    assert HttpInlet.__module__ == "databay_http.inlet"
    assert HttpOutlet.__module__ == "databay_http.outlet"
    assert databay_http.HttpInlet is HttpInlet
    assert set(databay_http.__all__) >= {"HttpInlet", "HttpOutlet", "HttpError", "HttpStatusError"}
