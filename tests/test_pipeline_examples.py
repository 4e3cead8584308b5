"""The example pipelines run with the installed `databay` and do what their comments say."""

from __future__ import annotations

import csv
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


@pytest.fixture
def example_profiles(tmp_path) -> dict[str, str]:
    """The examples' profiles file, installed private to the user as databay requires."""
    path = tmp_path / "profiles.toml"
    path.write_text((EXAMPLES / "profiles" / "profiles.toml").read_text())
    path.chmod(0o600)
    return {"DATABAY_PROFILES": str(path)}


def test_every_example_pipeline_is_valid(installed, example_profiles):
    pipelines = sorted([*EXAMPLES.glob("*.toml"), *EXAMPLES.glob("*.yaml")])
    assert len(pipelines) >= 6
    for pipeline in pipelines:
        result = installed.databay("validate", str(pipeline), env=example_profiles)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""  # no warning either


@pytest.mark.parametrize("name", ["quickstart.yaml", "named.toml", "named.yaml"])
def test_the_yaml_and_named_examples_run(installed, tmp_path, example_profiles, name):
    result = installed.databay("run", str(EXAMPLES / name), "--once", cwd=tmp_path, env=example_profiles)
    assert result.returncode == 0, result.stderr
    if name == "quickstart.yaml":
        assert [row["die"] for row in read_csv(tmp_path / "out" / "quickstart.csv")] == ["d4", "d6", "d20"]
        return
    rows = read_csv(tmp_path / "out" / "named_rolls.csv")  # where the profile says
    assert sorted(row["die"] for row in rows) == ["d20", "d6"]
    assert "-> rolls=csv(profile='dice-store')" in result.stdout


def test_quickstart_rolls_three_dice_into_a_csv_file(installed, tmp_path):
    result = installed.databay("run", str(EXAMPLES / "quickstart.toml"), "--once", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "-> csv(default_filepath='out/quickstart.csv')" in result.stdout  # where the rows went
    rows = read_csv(tmp_path / "out" / "quickstart.csv")
    assert [row["die"] for row in rows] == ["d4", "d6", "d20"]
    assert all(1 <= int(row["roll"]) <= int(row["die"][1:]) for row in rows)


@pytest.fixture
def todos_url() -> Iterator[str]:
    """The example's data served over HTTP on a free loopback port."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(EXAMPLES / "data"))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/todos.json"
    server.shutdown()
    server.server_close()


def test_http_to_csv_and_mongo(installed, tmp_path, todos_url, mongo_uri):
    address = pymongo.uri_parser.parse_uri(mongo_uri)["nodelist"][0]
    database = f"databay_example_{tmp_path.name[-20:].replace('-', '_')}"
    env = {"TODOS_URL": todos_url, "MONGO_HOST": address[0], "MONGO_PORT": str(address[1]),
           "MONGO_DATABASE": database}
    result = installed.databay("run", str(EXAMPLES / "http_csv_mongo.toml"), "--once", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    done = [todo for todo in json.loads((EXAMPLES / "data" / "todos.json").read_text()) if todo["completed"]]
    rows = read_csv(tmp_path / "out" / "todos_done.csv")
    assert [row["title"] for row in rows] == [todo["title"] for todo in done]
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        stored = list(client[database]["todos"].find({}, {"_id": False}).sort("id"))
        assert stored == done
    finally:
        client.drop_database(database)
        client.close()
