"""databay-s3 as a user meets it: installed into a fresh venv next to core (listed, inspectable,
imported lazily, named when left out), and examples/s3.toml run with the installed `databay`
against a moto server: dice rolls go up to S3 as one object per transfer and come back once each."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import boto3
import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "s3.toml"


@pytest.fixture(scope="module")
def user_env(tmp_path_factory, make_venv, repo):
    """Core and databay-s3, installed the way a user would (boto3 comes as a dependency)."""
    return make_venv(tmp_path_factory.mktemp("s3-plugin") / "env", repo / "core", repo / "plugins" / "databay-s3")


def test_listed_and_inspectable_and_boto3_imported_only_when_used(user_env):
    result = user_env.databay("plugins", "--json")
    assert result.returncode == 0, result.stderr
    [plugin] = [p for p in json.loads(result.stdout)["plugins"] if p["name"] == "databay-s3"]
    assert plugin["error"] is None
    assert [(c["name"], c["class"]) for c in plugin["inlets"] + plugin["outlets"]] == [
        ("s3", "S3Inlet"), ("s3", "S3Outlet")]
    for kind in ("inlet", "outlet"):
        details = user_env.databay("inspect", "s3", "--kind", kind, "--json")
        assert details.returncode == 0, details.stderr
        described = json.loads(details.stdout)
        assert described["doc"] and {"bucket", "format", "endpoint_url", "region"} <= {
            parameter["name"] for parameter in described["parameters"]}
    loaded = "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules), file=sys.stderr)"
    listing = "import sys; from databay.cli.plugins_view import show_plugins; show_plugins(as_json=True); "
    result = user_env.run("python", "-c", listing + loaded)
    assert result.returncode == 0 and result.stderr.strip() == "[]", result.stderr
    result = user_env.run("python", "-c", listing + "from databay.outlets import S3Outlet; S3Outlet('b'); " + loaded)
    assert result.returncode == 0 and result.stderr.strip() == "['boto3', 'botocore']", result.stderr


def test_left_out_it_is_named(user_env):
    left_out = {"DATABAY_LOAD_PLUGINS": ""}
    result = user_env.run("python", "-c", "from databay.outlets import S3Outlet", env=left_out)
    assert result.returncode == 1
    assert "S3Outlet is provided by the plugin distribution databay-s3" in result.stderr


@pytest.fixture(scope="module")
def s3_endpoint():
    from databay_s3.testing import running_server

    with running_server() as endpoint:
        yield endpoint


def test_dice_rolls_go_up_to_s3_and_come_back_once(installed, tmp_path, s3_endpoint):
    from databay_s3.testing import TEST_CREDENTIALS

    env = {**TEST_CREDENTIALS, "S3_ENDPOINT": s3_endpoint, "S3_BUCKET": "example"}
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    s3.create_bucket(Bucket="example")
    for _ in range(3):
        result = installed.databay("run", str(EXAMPLE), "--once", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
    keys = [entry["Key"] for entry in s3.list_objects_v2(Bucket="example", Prefix="dice/")["Contents"]]
    assert len(keys) == 3 and all(key.endswith(".jsonl") for key in keys)
    uploaded = [json.loads(line) for key in keys
                for line in s3.get_object(Bucket="example", Key=key)["Body"].read().splitlines()]
    assert [row["die"] for row in uploaded] == ["d6", "d8", "d20"] * 3
    assert all(1 <= row["roll"] <= int(row["die"][1:]) for row in uploaded)
    archived = [ast.literal_eval(line) for line in (tmp_path / "out" / "s3" / "dice.txt").read_text().splitlines()]
    # Each run's links transfer side by side: the archive is at least one run behind, in key order.
    assert len(archived) >= 6 and archived == uploaded[:len(archived)], "rows archived once each, in order"
