"""The first plugin distributions together, as a user installs them into a fresh venv.

databay-http, databay-mongo, databay-csv and databay-aps next to core: every component is
listed and inspectable, databay 0.3 imports resolve, and the manual's "Simple usage"
example runs unchanged against a local HTTP server and the test MongoDB server.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pymongo
import pytest

PLUGINS = ("databay-http", "databay-mongo", "databay-csv", "databay-aps")
COMPONENTS = {  # (kind, name) -> class
    ("inlet", "http"): "HttpInlet", ("outlet", "http"): "HttpOutlet",
    ("inlet", "mongo"): "MongoInlet", ("outlet", "mongo"): "MongoOutlet",
    ("inlet", "csv"): "CsvInlet", ("outlet", "csv"): "CsvOutlet",
    ("planner", "aps"): "ApsPlanner",
}
TODO = {"userId": 1, "id": 1, "title": "delectus aut autem", "completed": False}


@pytest.fixture(scope="module")
def user_env(tmp_path_factory, make_venv, repo):
    """Core and the four first-party plugins, installed the way a user would."""
    path = tmp_path_factory.mktemp("first-plugins") / "env"
    return make_venv(path, repo / "core", *(repo / "plugins" / name for name in PLUGINS))


@pytest.fixture(scope="module")
def todo_url() -> Iterator[str]:
    """A local stand-in for jsonplaceholder.typicode.com/todos/1."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            body = json.dumps(TODO).encode()
            self.send_response(200 if self.path == "/todos/1" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/todos/1"
    server.shutdown()
    server.server_close()


def test_plugins_json_lists_the_four_distributions_and_their_components(user_env):
    result = user_env.databay("plugins", "--json")
    assert result.returncode == 0, result.stderr
    listing = {plugin["name"]: plugin for plugin in json.loads(result.stdout)["plugins"]}
    assert set(PLUGINS) <= set(listing)
    registered = {
        (kind, component["name"]): component["class"]
        for plugin in listing.values() if plugin["name"] in PLUGINS
        for kind in ("inlet", "outlet", "planner", "processor")
        for component in plugin[f"{kind}s"]
    }
    assert COMPONENTS.items() <= registered.items()
    assert all(listing[name]["error"] is None for name in PLUGINS)
    assert json.loads(result.stdout)["clashes"] == []


@pytest.mark.parametrize("kind, name", sorted(COMPONENTS))
def test_inspect_every_component(user_env, kind, name):
    result = user_env.databay("inspect", name, "--kind", kind, "--json")
    assert result.returncode == 0, result.stderr
    details = json.loads(result.stdout)
    assert details["class"].endswith(f":{COMPONENTS[kind, name]}")
    assert details["parameters"] and details["doc"]


def test_listing_imports_no_client_library(user_env):
    script = ("import sys; from databay.cli.plugins_view import show_plugins; show_plugins(as_json=True); "
              "print(sorted(m for m in ('aiohttp', 'pymongo', 'apscheduler') if m in sys.modules), "
              "file=sys.stderr)")
    result = user_env.run("python", "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "[]"


def test_databay_03_imports_resolve(user_env):
    script = """
from databay.inlets import HttpInlet
from databay.outlets import MongoOutlet, CsvOutlet
from databay.planners import ApsPlanner, SchedulePlanner
from databay.inlets.http_inlet import HttpInlet as legacy_http
from databay.outlets.mongo_outlet import MongoOutlet as legacy_mongo
from databay.outlets.csv_outlet import CsvOutlet as legacy_csv
from databay.planners.aps_planner import ApsPlanner as legacy_aps
assert (legacy_http, legacy_mongo, legacy_csv, legacy_aps) == (HttpInlet, MongoOutlet, CsvOutlet, ApsPlanner)
print(HttpInlet.__module__, MongoOutlet.__module__, CsvOutlet.__module__, ApsPlanner.__module__)
"""
    result = user_env.run("python", "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["databay_http.inlet", "databay_mongo.outlet", "databay_csv.outlet",
                                     "databay_aps.planner"]


def test_the_manuals_simple_usage_example_runs_unchanged(user_env, repo, todo_url, mongo_uri):
    address = urlsplit(mongo_uri)
    runner = Path(__file__).resolve().parent / "fixtures" / "run_example.py"
    example = repo / "examples" / "manual" / "simple_usage.py"
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        client.drop_database("databay")
        result = user_env.run("python", str(runner), str(example), "1.5", env={
            "EXAMPLE_URL": todo_url, "EXAMPLE_MONGO_HOST": address.hostname or "127.0.0.1",
            "EXAMPLE_MONGO_PORT": str(address.port or 27017)})
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        documents = list(client["databay"]["test_collection"].find({}, {"_id": False}))
    finally:
        client.drop_database("databay")
        client.close()
    assert documents and all(document == TODO for document in documents)
    # The manual's log: the link's transfers, the inlet's pulls and the outlet's inserts.
    for expected in ("http_to_mongo.0 transfer (databay.Link)", f"http_to_mongo.0 pulling {todo_url}",
                     f"http_to_mongo.0 received {todo_url}", "http_to_mongo.0 insert [",
                     "http_to_mongo.0 done (databay.Link)"):
        assert expected in result.stderr, result.stderr


def test_a_plugin_left_out_by_databay_load_plugins_is_not_called_missing(user_env, tmp_path):
    only_csv = {"DATABAY_LOAD_PLUGINS": "databay-csv"}
    result = user_env.run("python", "-c", "from databay.inlets import HttpInlet", env=only_csv)
    assert result.returncode == 1
    assert ("HttpInlet is provided by the plugin distribution databay-http, which DATABAY_LOAD_PLUGINS "
            "leaves out") in result.stderr
    pipeline = tmp_path / "p.toml"
    pipeline.write_text('[[links]]\ninterval = 1\ninlets = [{ use = "http", url = "http://127.0.0.1:9/" }]\n'
                        'outlets = [{ use = "csv", default_filepath = "out.csv" }]\n')
    result = user_env.databay("validate", str(pipeline), env=only_csv)
    assert result.returncode == 2
    assert "unknown inlet 'http': it is provided by databay-http, which DATABAY_LOAD_PLUGINS leaves out" \
        in result.stderr
